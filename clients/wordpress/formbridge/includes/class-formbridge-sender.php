<?php
/**
 * Sends queued submissions with FormBridge's signed contract and records what happened.
 *
 * 2xx (accepted or duplicate) is sent; no answer, 408, 425, 429 and 5xx wait and are tried
 * again (429 and 503 after their Retry-After); any other 4xx is parked with its error.
 *
 * @package FormBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Signing, sending and the retry policy.
 */
class FormBridge_Sender {

	/** Seconds to wait after the 1st, 2nd, ... failed send; the last repeats. */
	const BACKOFF = array( 30, 120, 600, 1800, 3600, 10800 );

	/** A Retry-After is honoured up to a day. */
	const MAX_RETRY_AFTER = 86400;

	/**
	 * The three signature headers for a body: HMAC-SHA256 of timestamp, newline and body.
	 *
	 * @param string $body         The exact bytes sent.
	 * @param string $content_type Their Content-Type.
	 * @return array<string,string>
	 */
	public static function signed_headers( $body, $content_type = 'application/json' ) {
		// This server's clock, corrected by what FormBridge said of its own (a skewed clock would
		// be refused as a stale timestamp, forever).
		$timestamp = gmdate( 'c', time() + FormBridge_Settings::clock_offset() );
		return array(
			'Content-Type' => $content_type,
			'X-Tenant-Id'  => FormBridge_Settings::tenant_id(),
			'X-Timestamp'  => $timestamp,
			'X-Signature'  => hash_hmac( 'sha256', $timestamp . "\n" . $body, FormBridge_Settings::secret() ),
			'User-Agent'   => 'FormBridge-WordPress/' . FORMBRIDGE_VERSION . '; ' . home_url(),
		);
	}

	/**
	 * Sends due rows (or only $ids) and records each outcome.
	 *
	 * @param int        $limit At most this many.
	 * @param int[]|null $ids   Only these rows.
	 * @return array<string,int> sent, retrying, parked.
	 */
	public static function flush( $limit = 50, $ids = null ) {
		$result = array(
			'sent'     => 0,
			'retrying' => 0,
			'parked'   => 0,
		);
		if ( ! FormBridge_Settings::ready() ) {
			return $result;
		}
		foreach ( FormBridge_Queue::due( $limit, $ids ) as $row ) {
			if ( ! FormBridge_Queue::claim( $row ) ) {
				continue; // another sender has it.
			}
			$answer = self::send_row( $row );
			++$result[ self::classify( $answer ) ];
			if ( 0 === $answer['status'] ) {
				// FormBridge is unreachable or hung: one timeout per run, not one per row; the
				// rest stay due for the next run.
				break;
			}
		}
		return $result;
	}

	/**
	 * Sends one row and records the outcome.
	 *
	 * @param array $row The queue row.
	 * @return array The answer, from post().
	 */
	public static function send_row( array $row ) {
		$attempts = (int) $row['attempts'] + 1;
		list( $body, $type ) = FormBridge_Files::request_body( $row['envelope'] );
		$answer              = self::post( '/v1/ingest', $body, $type );
		if ( ! empty( $answer['skewed'] ) ) {
			// Refused as stale, with FormBridge's time: signed again at once with the corrected
			// clock (the same submission_id, so it can never be stored twice).
			$answer = self::post( '/v1/ingest', $body, $type );
		}
		$outcome  = self::classify( $answer );
		self::remember( $outcome, $answer );
		if ( 'sent' === $outcome ) {
			// FormBridge has the lead and its files: the row keeps its id, hash and status only.
			FormBridge_Files::forget( $row['envelope'] );
			FormBridge_Queue::record(
				$row['id'],
				FormBridge_Queue::SENT,
				$attempts,
				array(
					'last_status'     => $answer['status'],
					'last_error'      => null,
					'next_attempt_at' => null,
				)
			);
		} elseif ( 'parked' === $outcome ) {
			FormBridge_Queue::record(
				$row['id'],
				FormBridge_Queue::PARKED,
				$attempts,
				array(
					'last_status'     => $answer['status'],
					'last_error'      => $answer['error'],
					'next_attempt_at' => null,
				)
			);
		} else {
			$delay = self::BACKOFF[ min( $attempts, count( self::BACKOFF ) ) - 1 ];
			$delay = (int) round( $delay * ( 0.8 + 0.4 * wp_rand( 0, 1000 ) / 1000 ) );
			$delay = max( $delay, (int) $answer['retry_after'] );
			FormBridge_Queue::record(
				$row['id'],
				FormBridge_Queue::PENDING,
				$attempts,
				array(
					'last_status'     => $answer['status'] ? $answer['status'] : null,
					'last_error'      => $answer['error'],
					'next_attempt_at' => gmdate( 'Y-m-d H:i:s', time() + $delay ),
				)
			);
		}
		return $answer;
	}

	/**
	 * Keeps the last success and the last error for the settings page's status panel.
	 *
	 * @param string $outcome sent, retrying or parked.
	 * @param array  $answer  From post().
	 */
	private static function remember( $outcome, array $answer ) {
		if ( 'sent' === $outcome ) {
			update_option( 'formbridge_last_success', time(), false );
			return;
		}
		update_option(
			'formbridge_last_error',
			array(
				'at'      => time(),
				'status'  => (int) $answer['status'],
				'message' => $answer['error'],
			),
			false
		);
	}

	/**
	 * Posts a signed body; never throws.
	 *
	 * @param string $path         The API path.
	 * @param string $body         The body (JSON, or multipart with files).
	 * @param string $content_type Its Content-Type.
	 * @return array{status:int,body:string,error:string,retry_after:int}
	 */
	public static function post( $path, $body, $content_type = 'application/json' ) {
		$response = wp_remote_post(
			FormBridge_Settings::endpoint() . $path,
			array(
				'headers'     => self::signed_headers( $body, $content_type ),
				'body'        => $body,
				'timeout'     => FormBridge_Settings::timeout(),
				'redirection' => 0,
				'blocking'    => true,
			)
		);
		if ( is_wp_error( $response ) ) {
			return array(
				'status'      => 0,
				'body'        => '',
				'error'       => $response->get_error_message(),
				'retry_after' => 0,
				'skewed'      => false,
			);
		}
		$status  = (int) wp_remote_retrieve_response_code( $response );
		$text    = (string) wp_remote_retrieve_body( $response );
		$decoded = json_decode( $text, true );
		$error   = '';
		$skewed  = false;
		if ( is_array( $decoded ) && isset( $decoded['server_time'] ) ) {
			FormBridge_Settings::learn_clock( $decoded['server_time'] );
			$skewed = 401 === $status;
		}
		if ( $status >= 300 ) {
			$error = is_array( $decoded ) && isset( $decoded['error']['code'] )
				? $decoded['error']['code'] . ': ' . ( isset( $decoded['error']['message'] ) ? $decoded['error']['message'] : '' )
				: 'HTTP ' . $status;
		}
		return array(
			'status'      => $status,
			'body'        => $text,
			'error'       => substr( $error, 0, 2000 ),
			'retry_after' => self::retry_after( wp_remote_retrieve_header( $response, 'retry-after' ) ),
			// A stale timestamp whose answer told FormBridge's time: the next try is signed right.
			'skewed'      => $skewed,
		);
	}

	/**
	 * Retry-After as seconds (delta-seconds or an HTTP date), capped.
	 *
	 * @param string $value The header.
	 * @return int
	 */
	public static function retry_after( $value ) {
		$value = trim( (string) $value );
		if ( '' === $value ) {
			return 0;
		}
		if ( ctype_digit( $value ) ) {
			return min( (int) $value, self::MAX_RETRY_AFTER );
		}
		$when = strtotime( $value );
		return false === $when ? 0 : min( max( 0, $when - time() ), self::MAX_RETRY_AFTER );
	}

	/**
	 * What an answer means for the row.
	 *
	 * @param array $answer From post().
	 * @return string sent, retrying or parked.
	 */
	public static function classify( array $answer ) {
		$status = $answer['status'];
		if ( $status >= 200 && $status < 300 ) {
			return 'sent';
		}
		if ( 0 === $status || in_array( $status, array( 408, 425, 429 ), true ) || $status >= 500 ) {
			return 'retrying';
		}
		if ( ! empty( $answer['skewed'] ) ) {
			return 'retrying'; // the clock is corrected now.
		}
		return 'parked';
	}
}
