<?php
/**
 * The local queue: every submission is written here first, then sent. A lead posted while
 * FormBridge is down waits here, and is sent by the next retry.
 *
 * @package FormBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The {$wpdb->prefix}formbridge_queue table.
 */
class FormBridge_Queue {

	const PENDING = 'pending';
	const SENT    = 'sent';
	const PARKED  = 'parked';

	/**
	 * The table's name.
	 *
	 * @return string
	 */
	public static function table() {
		global $wpdb;
		return $wpdb->prefix . 'formbridge_queue';
	}

	/**
	 * Creates or upgrades the table (dbDelta).
	 */
	public static function install() {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$table   = self::table();
		$charset = $wpdb->get_charset_collate();
		dbDelta(
			"CREATE TABLE {$table} (
				id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
				submission_id varchar(64) NOT NULL,
				form_id varchar(128) NOT NULL DEFAULT '',
				source_plugin varchar(32) NOT NULL DEFAULT '',
				envelope longtext NOT NULL,
				envelope_sha256 char(64) NOT NULL DEFAULT '',
				status varchar(8) NOT NULL DEFAULT 'pending',
				attempts int(10) unsigned NOT NULL DEFAULT 0,
				next_attempt_at datetime NULL,
				last_status smallint(5) unsigned NULL,
				last_error text NULL,
				created_at datetime NOT NULL,
				sent_at datetime NULL,
				PRIMARY KEY  (id),
				UNIQUE KEY submission_id (submission_id),
				KEY due (status, next_attempt_at)
			) {$charset};"
		);
		update_option( 'formbridge_db_version', FORMBRIDGE_VERSION );
	}

	/**
	 * Queues an envelope; the same submission_id again is ignored (it is already queued).
	 *
	 * @param array  $envelope      The canonical envelope (submission_id, form_id, payload...).
	 * @param string $source_plugin Which form plugin captured it.
	 * @return int|null The row's id, or null when it was queued before.
	 */
	public static function enqueue( array $envelope, $source_plugin ) {
		global $wpdb;
		$now = gmdate( 'Y-m-d H:i:s' );
		// INSERT IGNORE: a form plugin's hook firing twice for one entry queues it once.
		$inserted = $wpdb->query(
			$wpdb->prepare(
				'INSERT IGNORE INTO ' . self::table() . ' (submission_id, form_id, source_plugin, envelope, status, attempts, next_attempt_at, created_at) VALUES (%s, %s, %s, %s, %s, 0, %s, %s)', // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
				$envelope['submission_id'],
				$envelope['form_id'],
				$source_plugin,
				wp_json_encode( $envelope ),
				self::PENDING,
				$now,
				$now
			)
		);
		return $inserted ? (int) $wpdb->insert_id : null;
	}

	/**
	 * Pending rows whose time has come, oldest first.
	 *
	 * @param int       $limit At most this many.
	 * @param int[]|null $ids  Only these rows.
	 * @return array[]
	 */
	public static function due( $limit, $ids = null ) {
		global $wpdb;
		$table = self::table();
		$sql   = "SELECT * FROM {$table} WHERE status = %s AND next_attempt_at <= %s";
		$args  = array( self::PENDING, gmdate( 'Y-m-d H:i:s' ) );
		if ( null !== $ids ) {
			$ids = array_map( 'absint', $ids );
			if ( ! $ids ) {
				return array();
			}
			$sql .= ' AND id IN (' . implode( ',', array_fill( 0, count( $ids ), '%d' ) ) . ')';
			$args = array_merge( $args, $ids );
		}
		$sql   .= ' ORDER BY next_attempt_at, id LIMIT %d';
		$args[] = (int) $limit;
		return $wpdb->get_results( $wpdb->prepare( $sql, $args ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
	}

	/**
	 * Claims a row for one sender: a cron run and a request's own send never both send it.
	 *
	 * @param array $row The row as read.
	 * @return bool Whether this caller has it.
	 */
	public static function claim( array $row ) {
		global $wpdb;
		// Moving next_attempt_at forward under its old value is the claim (a compare-and-set).
		$claimed = $wpdb->query(
			$wpdb->prepare(
				'UPDATE ' . self::table() . ' SET next_attempt_at = %s WHERE id = %d AND status = %s AND next_attempt_at = %s', // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
				gmdate( 'Y-m-d H:i:s', time() + 120 ),
				$row['id'],
				self::PENDING,
				$row['next_attempt_at']
			)
		);
		return 1 === $claimed;
	}

	/**
	 * Records what a send did.
	 *
	 * @param int    $id       The row.
	 * @param string $status   pending (retry), sent or parked.
	 * @param int    $attempts Attempts so far.
	 * @param array  $fields   next_attempt_at, last_status, last_error.
	 */
	public static function record( $id, $status, $attempts, array $fields ) {
		global $wpdb;
		if ( self::SENT === $status ) {
			// The lead is in FormBridge: its personal data leaves this table; the hash remains to
			// match it later.
			$wpdb->query( $wpdb->prepare( 'UPDATE ' . self::table() . " SET envelope_sha256 = SHA2(envelope, 256), envelope = '' WHERE id = %d AND envelope <> ''", $id ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		}
		$wpdb->update(
			self::table(),
			array_merge(
				array(
					'status'   => $status,
					'attempts' => $attempts,
					'sent_at'  => self::SENT === $status ? gmdate( 'Y-m-d H:i:s' ) : null,
				),
				$fields
			),
			array( 'id' => $id )
		);
	}

	/**
	 * Makes parked or waiting rows due now (the admin's Retry).
	 *
	 * @param int[] $ids The rows.
	 * @return int How many.
	 */
	public static function retry_now( array $ids ) {
		global $wpdb;
		$ids = array_filter( array_map( 'absint', $ids ) );
		if ( ! $ids ) {
			return 0;
		}
		$placeholders = implode( ',', array_fill( 0, count( $ids ), '%d' ) );
		return (int) $wpdb->query(
			$wpdb->prepare(
				'UPDATE ' . self::table() . " SET status = %s, next_attempt_at = %s WHERE status <> %s AND id IN ({$placeholders})", // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
				array_merge( array( self::PENDING, gmdate( 'Y-m-d H:i:s' ), self::SENT ), $ids )
			)
		);
	}

	/**
	 * Every parked row made due now (the settings that refused it were corrected).
	 *
	 * @return int How many.
	 */
	public static function requeue_parked() {
		global $wpdb;
		return (int) $wpdb->query(
			$wpdb->prepare(
				'UPDATE ' . self::table() . ' SET status = %s, next_attempt_at = %s WHERE status = %s', // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
				self::PENDING,
				gmdate( 'Y-m-d H:i:s' ),
				self::PARKED
			)
		);
	}

	/**
	 * The most recent error of a row still waiting or parked, if any.
	 *
	 * @return string
	 */
	public static function last_error() {
		global $wpdb;
		return (string) $wpdb->get_var(
			$wpdb->prepare(
				'SELECT last_error FROM ' . self::table() . ' WHERE status <> %s AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1', // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
				self::SENT
			)
		);
	}

	/**
	 * Deletes sent rows older than $days (their leads are in FormBridge).
	 *
	 * @param int $days Age in days.
	 * @return int How many.
	 */
	public static function prune( $days = 30 ) {
		global $wpdb;
		return (int) $wpdb->query(
			$wpdb->prepare(
				'DELETE FROM ' . self::table() . ' WHERE status = %s AND sent_at < %s', // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
				self::SENT,
				gmdate( 'Y-m-d H:i:s', time() - DAY_IN_SECONDS * (int) $days )
			)
		);
	}

	/**
	 * Deletes parked rows (and their files) older than $days: a refused lead nobody retried is
	 * not kept forever. The admin notice warns a week before.
	 *
	 * @param int $days Age in days.
	 * @return int How many.
	 */
	public static function expire_parked( $days ) {
		global $wpdb;
		$rows = $wpdb->get_results( $wpdb->prepare( 'SELECT id, envelope FROM ' . self::table() . ' WHERE status = %s AND created_at < %s', self::PARKED, self::days_ago( $days ) ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		foreach ( $rows as $row ) {
			FormBridge_Files::forget( $row['envelope'] );
			$wpdb->delete( self::table(), array( 'id' => (int) $row['id'] ) );
		}
		return count( $rows );
	}

	/**
	 * Parked rows that expire within $warn_days, and when the first of them does.
	 *
	 * @param int $days      The parked rows' lifetime in days.
	 * @param int $warn_days How far ahead to look.
	 * @return array{count:int,first:string|null} first: the UTC date the oldest expires.
	 */
	public static function expiring_parked( $days, $warn_days = 7 ) {
		global $wpdb;
		$row = $wpdb->get_row( $wpdb->prepare( 'SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM ' . self::table() . ' WHERE status = %s AND created_at < %s', self::PARKED, self::days_ago( max( 0, $days - $warn_days ) ) ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		return array(
			'count' => (int) $row['n'],
			'first' => $row['oldest'] ? gmdate( 'Y-m-d', strtotime( $row['oldest'] . ' UTC' ) + DAY_IN_SECONDS * (int) $days ) : null,
		);
	}

	/**
	 * A UTC datetime $days ago, as the table stores them.
	 *
	 * @param int $days Days.
	 * @return string
	 */
	private static function days_ago( $days ) {
		return gmdate( 'Y-m-d H:i:s', time() - DAY_IN_SECONDS * (int) $days );
	}

	/**
	 * Rows per status.
	 *
	 * @return array<string,int>
	 */
	public static function counts() {
		global $wpdb;
		$counts = array(
			self::PENDING => 0,
			self::SENT    => 0,
			self::PARKED  => 0,
		);
		$rows   = $wpdb->get_results( 'SELECT status, COUNT(*) AS n FROM ' . self::table() . ' GROUP BY status', ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		foreach ( $rows as $row ) {
			$counts[ $row['status'] ] = (int) $row['n'];
		}
		return $counts;
	}

	/**
	 * The newest rows of one status, for the status page.
	 *
	 * @param string $status The status.
	 * @param int    $limit  At most this many.
	 * @return array[]
	 */
	public static function latest( $status, $limit = 50 ) {
		global $wpdb;
		return $wpdb->get_results(
			$wpdb->prepare(
				'SELECT id, submission_id, form_id, source_plugin, status, attempts, next_attempt_at, last_status, last_error, created_at, sent_at FROM ' . self::table() . ' WHERE status = %s ORDER BY id DESC LIMIT %d', // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
				$status,
				$limit
			),
			ARRAY_A
		);
	}
}
