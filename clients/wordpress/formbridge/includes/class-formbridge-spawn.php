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
	const LOCK   = 'formbridge_sending';

	/**
	 * Hooks the loopback's handler, for visitors and logged-in users alike.
	 */
	public static function register() {
		add_action( 'wp_ajax_nopriv_' . self::ACTION, array( __CLASS__, 'handle' ) );
		add_action( 'wp_ajax_' . self::ACTION, array( __CLASS__, 'handle' ) );
	}

	/**
	 * Sends rows queued by this request (or, given none, whatever is due) without keeping its
	 * visitor waiting. While another request is sending, this one leaves its rows to it: that
	 * sender goes on while rows are due, so a hung FormBridge holds one PHP worker, not one per
	 * visitor (PHP's workers are few: four for `php -S` here, a handful under PHP-FPM).
	 *
	 * @param int[] $ids The rows.
	 */
	public static function send_later( array $ids ) {
		if ( self::sending_elsewhere() ) {
			return;
		}
		if ( self::finish_response() ) {
			self::send_rounds( $ids );
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
	 * Sends the rows given, then whatever falls due meanwhile, holding the sending lock; stops at
	 * the first failure (the rest keep their backoff).
	 *
	 * @param int[] $ids The rows to send first.
	 */
	public static function send_rounds( array $ids ) {
		if ( ! self::lock() ) {
			return;
		}
		try {
			$result = $ids ? FormBridge_Sender::flush( count( $ids ), $ids ) : array( 'retrying' => 0 );
			for ( $round = 0; $round < 10 && 0 === $result['retrying']; $round++ ) {
				$result = FormBridge_Sender::flush( 20 );
				if ( array_sum( $result ) < 20 ) {
					break;
				}
			}
		} finally {
			self::unlock();
		}
	}

	/**
	 * Whether a sender holds the lock (and is not long dead).
	 *
	 * @return bool
	 */
	private static function sending_elsewhere() {
		global $wpdb;
		$since = $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", self::LOCK ) );
		return null !== $since && (int) $since > time() - self::lock_lifetime();
	}

	/**
	 * Takes the sending lock: an INSERT IGNORE of an option row (atomic, unlike add_option), or
	 * the row of a sender that died holding it, taken over by compare-and-set.
	 *
	 * @return bool Whether this request holds it now.
	 */
	private static function lock() {
		global $wpdb;
		$now = time();
		if ( 1 === (int) $wpdb->query( $wpdb->prepare( "INSERT IGNORE INTO {$wpdb->options} (option_name, option_value, autoload) VALUES (%s, %s, 'no')", self::LOCK, $now ) ) ) {
			return true;
		}
		$since = $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", self::LOCK ) );
		if ( null === $since || (int) $since > $now - self::lock_lifetime() ) {
			return false;
		}
		return 1 === (int) $wpdb->query( $wpdb->prepare( "UPDATE {$wpdb->options} SET option_value = %s WHERE option_name = %s AND option_value = %s", $now, self::LOCK, $since ) );
	}

	/**
	 * Lets go of the sending lock.
	 */
	private static function unlock() {
		global $wpdb;
		$wpdb->delete( $wpdb->options, array( 'option_name' => self::LOCK ) );
	}

	/**
	 * How long a lock is trusted: longer than any sender could run (ten rounds' timeouts).
	 *
	 * @return int Seconds.
	 */
	private static function lock_lifetime() {
		return 11 * FormBridge_Settings::timeout() + 30;
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
	 * The loopback: the request written to the site's own address and the socket closed without
	 * reading an answer (the handler ignores the hang-up). A raw socket takes about a millisecond;
	 * WordPress's non-blocking wp_remote_post took 35-50 ms here. Where the socket cannot be opened
	 * (a host that allows only its HTTP API), wp_remote_post as spawn_cron uses it.
	 *
	 * @param int[] $ids The rows to send first.
	 */
	private static function spawn( array $ids ) {
		$url  = admin_url( 'admin-ajax.php' );
		$body = http_build_query(
			array(
				'action' => self::ACTION,
				'ids'    => implode( ',', array_map( 'absint', $ids ) ),
				'key'    => self::key(),
			)
		);
		if ( self::write_and_close( $url, $body ) ) {
			return;
		}
		wp_remote_post(
			$url,
			array(
				'timeout'   => 0.01,
				'blocking'  => false,
				// phpcs:ignore WordPress.NamingConventions.PrefixAllGlobals.NonPrefixedHooknameFound -- WordPress's own filter, as spawn_cron applies it.
				'sslverify' => apply_filters( 'https_local_ssl_verify', false ),
				'body'      => $body,
				'headers'   => array( 'Content-Type' => 'application/x-www-form-urlencoded' ),
			)
		);
	}

	/**
	 * Writes one POST to $url and closes the connection.
	 *
	 * @param string $url  The site's admin-ajax.php.
	 * @param string $body The form-encoded body.
	 * @return bool Whether the request was written whole.
	 */
	private static function write_and_close( $url, $body ) {
		$parts = wp_parse_url( $url );
		if ( empty( $parts['host'] ) ) {
			return false;
		}
		$https   = isset( $parts['scheme'] ) && 'https' === $parts['scheme'];
		$port    = isset( $parts['port'] ) ? (int) $parts['port'] : ( $https ? 443 : 80 );
		$context = stream_context_create(
			array(
				'ssl' => array(
					// phpcs:ignore WordPress.NamingConventions.PrefixAllGlobals.NonPrefixedHooknameFound -- WordPress's own filter, as spawn_cron applies it.
					'verify_peer'      => (bool) apply_filters( 'https_local_ssl_verify', false ),
					'verify_peer_name' => false,
					'SNI_enabled'      => true,
					'peer_name'        => $parts['host'],
				),
			)
		);
		$socket  = @stream_socket_client( ( $https ? 'ssl://' : 'tcp://' ) . $parts['host'] . ':' . $port, $errno, $error, 1, STREAM_CLIENT_CONNECT, $context ); // phpcs:ignore WordPress.PHP.NoSilencedErrors.Discouraged -- a refused loopback falls back to wp_remote_post.
		if ( ! $socket ) {
			return false;
		}
		$path    = ( isset( $parts['path'] ) ? $parts['path'] : '/' ) . ( isset( $parts['query'] ) ? '?' . $parts['query'] : '' );
		$request = "POST {$path} HTTP/1.1\r\nHost: {$parts['host']}" . ( isset( $parts['port'] ) ? ":{$port}" : '' ) . "\r\n"
			. "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " . strlen( $body ) . "\r\n"
			. 'User-Agent: FormBridge-WordPress/' . FORMBRIDGE_VERSION . "\r\nConnection: close\r\n\r\n" . $body;
		$written = fwrite( $socket, $request ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fwrite
		fclose( $socket ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fclose
		return strlen( $request ) === $written;
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
		self::send_rounds( $ids );
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
