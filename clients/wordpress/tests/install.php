<?php
/**
 * Installs the test site and activates the plugin, in its own process before PHPUnit runs (as
 * WordPress's own test suite does: an uninstalled site's wp-settings.php would redirect).
 *
 * @package FormBridge
 */

define( 'WP_INSTALLING', true );
require __DIR__ . '/wp-test-config.php';
require_once ABSPATH . 'wp-settings.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

wp_install( 'FormBridge test site', 'admin', 'admin@wordpress.test', false, '', 'admin-password-123' );
$activated = activate_plugin( 'formbridge/formbridge.php' );
if ( is_wp_error( $activated ) ) {
	fwrite( STDERR, 'activating the plugin failed: ' . $activated->get_error_message() . "\n" );
	exit( 2 );
}
echo "installed, plugin active\n";
