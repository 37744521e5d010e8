<?php
/**
 * Deleting the plugin removes what it created: the queue table, its options, its jobs.
 *
 * @package FormBridge
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

global $wpdb;
$wpdb->query( 'DROP TABLE IF EXISTS ' . $wpdb->prefix . 'formbridge_queue' ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
foreach ( array( 'formbridge_endpoint', 'formbridge_tenant_id', 'formbridge_secret', 'formbridge_secret_input', 'formbridge_timeout', 'formbridge_capture_comments', 'formbridge_capture_registrations', 'formbridge_db_version' ) as $option ) {
	delete_option( $option );
}
wp_clear_scheduled_hook( 'formbridge_flush' );
wp_clear_scheduled_hook( 'formbridge_prune' );
if ( function_exists( 'as_unschedule_all_actions' ) ) {
	as_unschedule_all_actions( 'formbridge_flush', array(), 'formbridge' );
	as_unschedule_all_actions( 'formbridge_prune', array(), 'formbridge' );
}
