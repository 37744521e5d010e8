<?php
/**
 * Sending outside the visitor's request, on every server setup.
 *
 * Under PHP-FPM (and LiteSpeed) the response is finished first and the request then sends what it
 * queued. Elsewhere (Apache's mod_php, `php -S`, most shared hosts) finishing the response early
 * is not possible: the request instead starts a send in a request of its own, a non-blocking
 * loopback POST to admin-ajax.php as WordPress spawns WP-Cron, and returns at once. When the
 * loopback cannot reach the site (a firewall, basic auth), the recurring job (Action Scheduler or
 * WP-Cron, every minute) sends the rows: they are in the queue either way.
 *
 * @package FormBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The finish-then-send and the loopback.
 */
class FormBridge_Spawn {

	const ACTION = 'formbridge_send';

	/**
	 * Hooks the loopback's handler, for visitors and logged-in users alike.
	 */
	public static function register() {
		add_action( 'wp_ajax_nopriv_' . self::ACTION, array( __CLASS__, 'handle' ) );
		add_action( 'wp_ajax_' . self::ACTION, array( __CLASS__, 'handle' ) );
	}

	/**
	 * Sends rows queued by this request (or, given none, whatever is due) without keeping its
	 * visitor waiting.
	 *
	 * @param int[] $ids The rows.
	 */
	public static function send_later( array $ids ) {
		if ( self::finish_response() ) {
			FormBridge_Sender::flush( $ids ? count( $ids ) : 20, $ids ? $ids : null );
			return;
		}
		/**
		 * Filters whether a request that cannot finish its response early starts a loopback
		 * request to send its rows (false: they wait for the recurring job, within a minute).
		 *
		 * @param bool $spawn Whether to spawn.
		 */
		if ( apply_filters( 'formbridge_spawn_loopback', true ) ) {
			self::spawn( $ids );
		}
	}

	/**
	 * Ends the visitor's response where the server can (PHP-FPM, LiteSpeed).
	 *
	 * @return bool Whether it did.
	 */
	private static function finish_response() {
		if ( function_exists( 'fastcgi_finish_request' ) ) {
			return fastcgi_finish_request();
		}
		if ( function_exists( 'litespeed_finish_request' ) ) {
			return litespeed_finish_request();
		}
		return false;
	}

	/**
	 * The loopback: posted without waiting for its answer (a 10 ms budget, as spawn_cron uses).
	 *
	 * @param int[] $ids The rows to send first.
	 */
	private static function spawn( array $ids ) {
		wp_remote_post(
			admin_url( 'admin-ajax.php' ),
			array(
				'timeout'   => 0.01,
				'blocking'  => false,
				// phpcs:ignore WordPress.NamingConventions.PrefixAllGlobals.NonPrefixedHooknameFound -- WordPress's own filter, as spawn_cron applies it.
				'sslverify' => apply_filters( 'https_local_ssl_verify', false ),
				'body'      => array(
					'action' => self::ACTION,
					'ids'    => implode( ',', array_map( 'absint', $ids ) ),
					'key'    => self::key(),
				),
			)
		);
	}

	/**
	 * The loopback's handler: sends the rows named, then anything else due. Only the site itself
	 * knows the key (it is derived from the site's salts), so nobody else can make it send.
	 */
	public static function handle() {
		// phpcs:disable WordPress.Security.NonceVerification.Missing -- the key is the check: a nonce is per user and the loopback has none.
		$key = isset( $_POST['key'] ) ? sanitize_text_field( wp_unslash( $_POST['key'] ) ) : '';
		if ( ! hash_equals( self::key(), $key ) ) {
			wp_die( '', '', array( 'response' => 403 ) );
		}
		$ids = isset( $_POST['ids'] ) ? array_filter( array_map( 'absint', explode( ',', sanitize_text_field( wp_unslash( $_POST['ids'] ) ) ) ) ) : array();
		// phpcs:enable WordPress.Security.NonceVerification.Missing
		ignore_user_abort( true ); // the spawning request hung up at once, by design.
		if ( $ids ) {
			FormBridge_Sender::flush( count( $ids ), $ids );
		}
		FormBridge_Sender::flush( 20 );
		wp_die( '', '', array( 'response' => 204 ) );
	}

	/**
	 * The loopback's key.
	 *
	 * @return string
	 */
	public static function key() {
		return hash_hmac( 'sha256', self::ACTION, wp_salt( 'nonce' ) );
	}
}
