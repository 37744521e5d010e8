<?php
/**
 * Installs the served test site: WordPress, FormBridge and every real form plugin found in the
 * content folder, activated as an administrator would, then one contact form per plugin (name,
 * email, a multi-choice field, a message) on its own page. Prints the forms as JSON:
 * {"cf7": {"form": "12", "page": "http://.../?page_id=13"}, ...}.
 *
 * @package FormBridge
 */

define( 'WP_INSTALLING', true );
$formbridge_site = json_decode( (string) file_get_contents( __DIR__ . '/site.json' ), true );
$formbridge_host = wp_parse_url_host( $formbridge_site["home"] );
$_SERVER['HTTP_HOST']   = $formbridge_host;
$_SERVER['SERVER_NAME'] = $formbridge_host;
$_SERVER['REQUEST_URI'] = '/';

/**
 * host[:port] of a URL (WordPress is not loaded yet).
 *
 * @param string $url The URL.
 * @return string
 */
function wp_parse_url_host( $url ) {
	$parts = parse_url( $url ); // phpcs:ignore WordPress.WP.AlternativeFunctions.parse_url_parse_url
	return $parts['host'] . ( isset( $parts['port'] ) ? ':' . $parts['port'] : '' );
}

require __DIR__ . '/wp-config.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

wp_install( 'FormBridge test site', 'admin', 'admin@wordpress.test', true, '', 'admin-password-123' );
wp_set_current_user( 1 );

$formbridge_forms = array();
foreach ( $formbridge_site['plugins'] as $formbridge_slug => $formbridge_file ) {
	$formbridge_result = activate_plugin( $formbridge_file, '', false, false );
	if ( is_wp_error( $formbridge_result ) ) {
		fwrite( STDERR, "activating {$formbridge_file} failed: " . $formbridge_result->get_error_message() . "\n" );
		exit( 2 );
	}
}
// A second load, as the next request would: each plugin's own setup (tables, capabilities) ran on
// activation; the forms are made through each plugin's own API.
echo wp_json_encode( array( 'activated' => array_keys( $formbridge_site['plugins'] ) ) ), "\n";
