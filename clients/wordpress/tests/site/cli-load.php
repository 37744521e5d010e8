<?php
/**
 * Loads the installed test site in a PHP CLI process, as a request to its home page would.
 *
 * @package FormBridge
 */

$formbridge_site = json_decode( (string) file_get_contents( __DIR__ . '/site.json' ), true );
$formbridge_url  = parse_url( $formbridge_site['home'] ); // phpcs:ignore WordPress.WP.AlternativeFunctions.parse_url_parse_url
$_SERVER['HTTP_HOST']       = $formbridge_url['host'] . ( isset( $formbridge_url['port'] ) ? ':' . $formbridge_url['port'] : '' );
$_SERVER['SERVER_NAME']     = $formbridge_url['host'];
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['REMOTE_ADDR']     = '127.0.0.1';
$_SERVER['REQUEST_METHOD']  = 'GET';
$_SERVER['HTTP_USER_AGENT'] = 'formbridge-test-cli';
require __DIR__ . '/wp-config.php';
