<?php
/**
 * The served test site's wp-config: Debian's WordPress core (symlinked into the site folder, which
 * is ABSPATH), a scratch MariaDB database, and a content folder holding FormBridge and the real
 * form plugins, all from site.json beside this file's copy (tests/clients/wordpress_site.py).
 *
 * @package FormBridge
 */

$formbridge_site = json_decode( (string) file_get_contents( __DIR__ . '/site.json' ), true );

define( 'DB_NAME', $formbridge_site['db_name'] );
define( 'DB_USER', 'root' );
define( 'DB_PASSWORD', '' );
define( 'DB_HOST', $formbridge_site['db_host'] );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
define( 'WP_CONTENT_DIR', $formbridge_site['content_dir'] );
define( 'WP_CONTENT_URL', $formbridge_site['home'] . '/wp-content' );
define( 'WP_HOME', $formbridge_site['home'] );
define( 'WP_SITEURL', $formbridge_site['home'] );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_DEBUG_LOG', $formbridge_site['debug_log'] );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_HTTP_BLOCK_EXTERNAL', true ); // no internet here: only the loopback and FormBridge.
define( 'WP_ACCESSIBLE_HOSTS', '127.0.0.1,localhost' );
if ( ! empty( $formbridge_site['disable_wp_cron'] ) ) {
	define( 'DISABLE_WP_CRON', true );
}
foreach ( array( 'AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT' ) as $formbridge_key ) {
	define( $formbridge_key, 'formbridge-site-' . $formbridge_key );
}
$table_prefix = 'wp_'; // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited

if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
