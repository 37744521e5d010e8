<?php
/**
 * PHPUnit's bootstrap: the installed test site (install.php ran first) with the plugin active,
 * loaded as a request would load it, then configured to send to the live FormBridge.
 *
 * @package FormBridge
 */

require __DIR__ . '/wp-test-config.php';

require_once ABSPATH . 'wp-settings.php';

add_filter(
	'wp_die_handler',
	static function () {
		return static function ( $message, $title = '', $args = array() ) {
			$code = is_int( $title ) ? $title : ( is_array( $args ) && isset( $args['response'] ) ? (int) $args['response'] : 500 );
			throw new WPDieException( is_string( $message ) ? $message : 'wp_die', $code );
		};
	}
);

if ( ! class_exists( 'FormBridge_Plugin' ) ) {
	fwrite( STDERR, "the plugin is not active: run install.php first\n" );
	exit( 2 );
}

update_option( 'formbridge_endpoint', $env( 'FORMBRIDGE_URL' ) );
update_option( 'formbridge_tenant_id', $env( 'FORMBRIDGE_TENANT_ID' ) );
FormBridge_Settings::set_secret( $env( 'FORMBRIDGE_SECRET' ) );
update_option( 'formbridge_timeout', 3 );

require_once __DIR__ . '/stubs.php';
require_once __DIR__ . '/class-formbridge-testcase.php';
