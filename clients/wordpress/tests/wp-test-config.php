<?php
/**
 * The test site's wp-config: Debian's WordPress core, a scratch MariaDB database and a content
 * folder holding the plugin, all from the environment (tests/clients/test_wordpress_plugin.py).
 *
 * @package FormBridge
 */

$env = static function ( $name, $default = null ) {
	$value = getenv( $name );
	if ( false === $value ) {
		if ( null === $default ) {
			fwrite( STDERR, "set {$name}\n" );
			exit( 2 );
		}
		return $default;
	}
	return $value;
};

define( 'DB_NAME', $env( 'WP_DB_NAME' ) );
define( 'DB_USER', $env( 'WP_DB_USER', 'root' ) );
define( 'DB_PASSWORD', $env( 'WP_DB_PASSWORD', '' ) );
define( 'DB_HOST', $env( 'WP_DB_HOST', '127.0.0.1' ) );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
define( 'WP_CONTENT_DIR', $env( 'WP_CONTENT_DIR' ) );
define( 'WP_CONTENT_URL', 'http://wordpress.test/wp-content' );
define( 'WP_HOME', 'http://wordpress.test' );
define( 'WP_SITEURL', 'http://wordpress.test' );
define( 'DISABLE_WP_CRON', true ); // the tests run the cron hook themselves.
define( 'WP_DEBUG', false ); // WordPress 6.1's own PHP 8.2 deprecations are noise here; warnings still fail a test.
define( 'WP_DEBUG_DISPLAY', false );
define( 'ABSPATH', rtrim( $env( 'WP_CORE_DIR', '/usr/share/wordpress' ), '/' ) . '/' );
foreach ( array( 'AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT' ) as $key ) {
	define( $key, 'formbridge-test-' . $key );
}
// PHPUnit includes this file inside a function: WordPress expects to load in the global scope.
global $wpdb, $current_site, $current_blog, $wp_rewrite, $shortcode_tags, $wp, $phpmailer,
	$wp_theme_directories, $table_prefix, $wp_version, $wp_db_version, $tinymce_version,
	$required_php_version, $required_mysql_version, $wp_local_package, $wp_filter, $wp_query,
	$wp_the_query, $wp_roles, $wp_locale, $wp_embed, $wp_widget_factory, $pagenow;
$table_prefix = 'wp_'; // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited
$_SERVER['HTTP_HOST']    = 'wordpress.test';
$_SERVER['SERVER_NAME']  = 'wordpress.test';
$_SERVER['REQUEST_URI']  = '/';
$_SERVER['REMOTE_ADDR']  = '127.0.0.1';
$_SERVER['HTTP_USER_AGENT'] = 'phpunit';

/** wp_die() as an exception, as WordPress's own test suite does (its default would exit). */
class WPDieException extends Exception {}

