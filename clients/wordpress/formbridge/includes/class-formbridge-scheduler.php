<?php
/**
 * Retries in the background: Action Scheduler when a plugin ships it (WooCommerce, WPForms...),
 * else WP-Cron, every minute; and a daily prune of old sent rows.
 *
 * @package FormBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The recurring flush and prune.
 */
class FormBridge_Scheduler {

	const FLUSH = 'formbridge_flush';
	const PRUNE = 'formbridge_prune';

	/**
	 * Hooks the jobs and the one-minute cron interval.
	 */
	public static function register() {
		add_filter( 'cron_schedules', array( __CLASS__, 'add_interval' ) ); // phpcs:ignore WordPress.WP.CronInterval.CronSchedulesInterval
		add_action( self::FLUSH, array( __CLASS__, 'run_flush' ) );
		add_action( self::PRUNE, array( __CLASS__, 'run_prune' ) );
		add_action( 'init', array( __CLASS__, 'schedule' ) );
	}

	/**
	 * WP-Cron's every-minute interval.
	 *
	 * @param array $schedules The intervals.
	 * @return array
	 */
	public static function add_interval( $schedules ) {
		$schedules['formbridge_minute'] = array(
			'interval' => MINUTE_IN_SECONDS,
			'display'  => __( 'Every minute (FormBridge retries)', 'formbridge' ),
		);
		return $schedules;
	}

	/**
	 * Whether Action Scheduler is there to use.
	 *
	 * @return bool
	 */
	public static function has_action_scheduler() {
		return function_exists( 'as_schedule_recurring_action' ) && function_exists( 'as_has_scheduled_action' );
	}

	/**
	 * Schedules both jobs once (idempotent).
	 */
	public static function schedule() {
		if ( self::has_action_scheduler() ) {
			if ( ! as_has_scheduled_action( self::FLUSH, array(), 'formbridge' ) ) {
				as_schedule_recurring_action( time(), MINUTE_IN_SECONDS, self::FLUSH, array(), 'formbridge' );
			}
			if ( ! as_has_scheduled_action( self::PRUNE, array(), 'formbridge' ) ) {
				as_schedule_recurring_action( time(), DAY_IN_SECONDS, self::PRUNE, array(), 'formbridge' );
			}
			return;
		}
		add_filter( 'cron_schedules', array( __CLASS__, 'add_interval' ) ); // phpcs:ignore WordPress.WP.CronInterval.CronSchedulesInterval
		if ( ! wp_next_scheduled( self::FLUSH ) ) {
			wp_schedule_event( time(), 'formbridge_minute', self::FLUSH );
		}
		if ( ! wp_next_scheduled( self::PRUNE ) ) {
			wp_schedule_event( time(), 'daily', self::PRUNE );
		}
	}

	/**
	 * Removes both jobs.
	 */
	public static function unschedule() {
		wp_clear_scheduled_hook( self::FLUSH );
		wp_clear_scheduled_hook( self::PRUNE );
		if ( function_exists( 'as_unschedule_all_actions' ) ) {
			as_unschedule_all_actions( self::FLUSH, array(), 'formbridge' );
			as_unschedule_all_actions( self::PRUNE, array(), 'formbridge' );
		}
	}

	/**
	 * Sends what is due, a few batches per run.
	 */
	public static function run_flush() {
		for ( $round = 0; $round < 10; $round++ ) {
			$result = FormBridge_Sender::flush( 50 );
			if ( array_sum( $result ) < 50 ) {
				return;
			}
		}
	}

	/**
	 * Deletes sent rows older than 30 days (filter: formbridge_keep_sent_days) and parked rows
	 * older than keep_parked_days() (their notice warned a week before).
	 */
	public static function run_prune() {
		FormBridge_Queue::prune( (int) apply_filters( 'formbridge_keep_sent_days', 30 ) );
		FormBridge_Queue::expire_parked( self::keep_parked_days() );
	}

	/**
	 * Days a parked lead is kept for the owner to fix and retry (filter:
	 * formbridge_keep_parked_days, 30 by default).
	 *
	 * @return int
	 */
	public static function keep_parked_days() {
		return max( 1, (int) apply_filters( 'formbridge_keep_parked_days', 30 ) );
	}
}
