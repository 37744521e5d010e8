<?php
/**
 * Moves the test site's clock forward by argv[1] seconds, as far as the plugin can tell: queued
 * rows and WP-Cron's events fall due that much sooner. The next request to wp-cron.php then runs
 * what a site would run that much later.
 *
 * @package FormBridge
 */

require __DIR__ . '/cli-load.php';

$formbridge_seconds = (int) $argv[1];
$formbridge_events  = array();
foreach ( _get_cron_array() as $formbridge_time => $formbridge_hooks ) {
	$formbridge_events[ $formbridge_time - $formbridge_seconds ] = $formbridge_hooks;
}
ksort( $formbridge_events );
_set_cron_array( $formbridge_events );
delete_transient( 'doing_cron' );
$wpdb->query(
	$wpdb->prepare(
		"UPDATE {$wpdb->prefix}formbridge_queue SET next_attempt_at = next_attempt_at - INTERVAL %d SECOND WHERE next_attempt_at IS NOT NULL", // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$formbridge_seconds
	)
);
