<?php
/**
 * Deleting the plugin removes what it created (the queue table, its options, its jobs), on every
 * site of a network, except leads not yet delivered: while the queue holds pending or parked
 * leads, they are kept with the settings that can send them (reinstalling the plugin sends
 * them), unless the owner opted in to deleting them (option formbridge_delete_unsent_on_uninstall).
 *
 * @package FormBridge
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

/**
 * Uninstalls on the current site; returns how many undelivered leads were kept.
 *
 * @return int
 */
function formbridge_uninstall_site() {
	global $wpdb;
	$table  = $wpdb->prefix . 'formbridge_queue';
	$exists = $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $table ) );
	$unsent = $exists
		? (int) $wpdb->get_var( "SELECT COUNT(*) FROM {$table} WHERE status IN ('pending', 'parked')" ) // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		: 0;
	wp_clear_scheduled_hook( 'formbridge_flush' );
	wp_clear_scheduled_hook( 'formbridge_prune' );
	if ( function_exists( 'as_unschedule_all_actions' ) ) {
		as_unschedule_all_actions( 'formbridge_flush', array(), 'formbridge' );
		as_unschedule_all_actions( 'formbridge_prune', array(), 'formbridge' );
	}
	if ( $unsent && ! get_option( 'formbridge_delete_unsent_on_uninstall' ) ) {
		return $unsent; // leads FormBridge does not have yet are never deleted without a word.
	}
	$wpdb->query( "DROP TABLE IF EXISTS {$table}" ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	foreach ( array( 'formbridge_endpoint', 'formbridge_tenant_id', 'formbridge_secret', 'formbridge_secret_input', 'formbridge_timeout', 'formbridge_capture_comments', 'formbridge_capture_registrations', 'formbridge_db_version', 'formbridge_delete_unsent_on_uninstall' ) as $option ) {
		delete_option( $option );
	}
	return 0;
}

if ( is_multisite() ) {
	foreach ( get_sites( array( 'fields' => 'ids', 'number' => 0 ) ) as $formbridge_site ) {
		switch_to_blog( $formbridge_site );
		formbridge_uninstall_site();
		restore_current_blog();
	}
} else {
	formbridge_uninstall_site();
}
