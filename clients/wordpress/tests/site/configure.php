<?php
/**
 * Sets the test site's FormBridge settings and switches plugins, as the owner would in wp-admin:
 * php configure.php endpoint=http://... tenant=t_acme secret=... timeout=5 activate=formbridge/formbridge.php
 * (or deactivate=...).
 *
 * @package FormBridge
 */

require __DIR__ . '/cli-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

foreach ( array_slice( $argv, 1 ) as $formbridge_argument ) {
	list( $formbridge_key, $formbridge_value ) = explode( '=', $formbridge_argument, 2 );
	switch ( $formbridge_key ) {
		case 'endpoint':
		case 'tenant_id':
		case 'timeout':
			update_option( 'formbridge_' . $formbridge_key, $formbridge_value );
			break;
		case 'secret':
			FormBridge_Settings::set_secret( $formbridge_value );
			break;
		case 'activate':
			activate_plugin( $formbridge_value );
			break;
		case 'deactivate':
			deactivate_plugins( $formbridge_value );
			break;
		default:
			fwrite( STDERR, "unknown setting {$formbridge_key}\n" );
			exit( 2 );
	}
}
