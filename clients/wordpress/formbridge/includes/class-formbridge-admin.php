<?php
/**
 * Tools → FormBridge: the queue (pending, sent, parked), Retry and Test connection.
 *
 * @package FormBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The status page and its two actions (capability and nonce checked).
 */
class FormBridge_Admin {

	const PAGE = 'formbridge-queue';

	/**
	 * Hooks the page and its actions.
	 */
	public static function register() {
		add_action( 'admin_menu', array( __CLASS__, 'add_page' ) );
		add_action( 'admin_post_formbridge_retry', array( __CLASS__, 'handle_retry' ) );
		add_action( 'admin_post_formbridge_test', array( __CLASS__, 'handle_test' ) );
		add_action( 'admin_notices', array( __CLASS__, 'notice' ) );
	}

	/**
	 * Tools → FormBridge.
	 */
	public static function add_page() {
		add_management_page(
			__( 'FormBridge queue', 'formbridge' ),
			__( 'FormBridge', 'formbridge' ),
			'manage_options',
			self::PAGE,
			array( __CLASS__, 'render_page' )
		);
	}

	/**
	 * Retry: parked and waiting rows (all, or the one given) are sent now.
	 */
	public static function handle_retry() {
		self::guard( 'formbridge_retry' );
		$ids = isset( $_POST['ids'] ) ? array_map( 'absint', (array) wp_unslash( $_POST['ids'] ) ) : array();
		if ( ! $ids ) {
			global $wpdb;
			$ids = array_map( 'absint', $wpdb->get_col( $wpdb->prepare( 'SELECT id FROM ' . FormBridge_Queue::table() . ' WHERE status <> %s', FormBridge_Queue::SENT ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		}
		FormBridge_Queue::retry_now( $ids );
		$result = FormBridge_Sender::flush( count( $ids ), $ids );
		self::back( sprintf( /* translators: 1: sent, 2: waiting, 3: parked */ __( 'Sent %1$d, waiting %2$d, parked %3$d.', 'formbridge' ), $result['sent'], $result['retrying'], $result['parked'] ) );
	}

	/**
	 * Test connection: the settings checked by FormBridge itself, nothing stored (no test ever
	 * creates a lead that would fan out to the tenant's CRM).
	 */
	public static function handle_test() {
		self::guard( 'formbridge_test' );
		self::back( self::connection_check() );
	}

	/**
	 * Asks FormBridge to verify a request signed with these settings (POST /v1/verify) and says
	 * what it answered, in words.
	 *
	 * @return string
	 */
	public static function connection_check() {
		$answer  = FormBridge_Sender::post( '/v1/verify', '{}' );
		$decoded = json_decode( $answer['body'], true );
		if ( 200 === $answer['status'] && is_array( $decoded ) && isset( $decoded['tenant_id'] ) ) {
			$skew = isset( $decoded['server_time'] ) ? abs( time() - (int) strtotime( $decoded['server_time'] ) ) : 0;
			return sprintf(
				/* translators: 1: the tenant id, 2: seconds between this site's clock and FormBridge's */
				__( 'Connected: FormBridge accepts this site as tenant %1$s. Clocks agree within %2$d s.', 'formbridge' ),
				$decoded['tenant_id'],
				$skew
			);
		}
		if ( $answer['status'] ) {
			/* translators: 1: HTTP status, 2: FormBridge's error code and message */
			return sprintf( __( 'FormBridge refused the settings (%1$d): %2$s', 'formbridge' ), $answer['status'], $answer['error'] );
		}
		/* translators: %s: the connection error */
		return sprintf( __( 'FormBridge could not be reached: %s', 'formbridge' ), $answer['error'] );
	}

	/**
	 * A dismissible notice on every admin page while leads are parked (refused, waiting for the
	 * owner) or failing: how many, the last error, and the way to the queue.
	 */
	public static function notice() {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		global $wpdb;
		$counts  = FormBridge_Queue::counts();
		$failing = (int) $wpdb->get_var(
			$wpdb->prepare( 'SELECT COUNT(*) FROM ' . FormBridge_Queue::table() . ' WHERE status = %s AND attempts >= 3', FormBridge_Queue::PENDING ) // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		);
		if ( ! $counts[ FormBridge_Queue::PARKED ] && ! $failing ) {
			return;
		}
		$message = sprintf(
			/* translators: 1: parked leads, 2: leads failing to send, 3: the last error */
			__( '%1$d lead(s) parked and %2$d failing to send. Last error: %3$s', 'formbridge' ),
			$counts[ FormBridge_Queue::PARKED ],
			$failing,
			FormBridge_Queue::last_error()
		);
		$expiring = FormBridge_Queue::expiring_parked( FormBridge_Scheduler::keep_parked_days() );
		if ( $expiring['count'] ) {
			$message .= ' ' . sprintf(
				/* translators: 1: parked leads about to be deleted, 2: the date the first is deleted */
				__( '%1$d parked lead(s) will be deleted from %2$s unless they are sent.', 'formbridge' ),
				$expiring['count'],
				$expiring['first']
			);
		}
		printf(
			'<div class="notice notice-error is-dismissible formbridge-notice"><p><strong>%1$s</strong> %2$s <a href="%3$s">%4$s</a></p></div>',
			esc_html__( 'FormBridge:', 'formbridge' ),
			esc_html( $message ),
			esc_url( admin_url( 'tools.php?page=' . self::PAGE ) ),
			esc_html__( 'Open the queue', 'formbridge' )
		);
	}

	/**
	 * Only an administrator, only with this action's nonce.
	 *
	 * @param string $action The nonce action.
	 */
	private static function guard( $action ) {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to manage the FormBridge queue.', 'formbridge' ), 403 );
		}
		check_admin_referer( $action );
	}

	/**
	 * Back to the page the button was on (the queue, or Settings → FormBridge) with a message.
	 *
	 * @param string $message What happened.
	 */
	private static function back( $message ) {
		set_transient( 'formbridge_notice_' . get_current_user_id(), $message, 60 );
		wp_safe_redirect( wp_get_referer() ? wp_get_referer() : admin_url( 'tools.php?page=' . self::PAGE ) );
		exit;
	}

	/**
	 * The message a button left, shown once.
	 */
	public static function flash() {
		$notice = get_transient( 'formbridge_notice_' . get_current_user_id() );
		delete_transient( 'formbridge_notice_' . get_current_user_id() );
		if ( $notice ) {
			echo '<div class="notice notice-info formbridge-result"><p>' . esc_html( $notice ) . '</p></div>';
		}
	}

	/**
	 * Whether it works, at a glance: the queue's counts, the last success and the last error,
	 * Test connection, and the way to the queue.
	 */
	public static function status_panel() {
		$counts  = FormBridge_Queue::counts();
		$success = (int) get_option( 'formbridge_last_success', 0 );
		$error   = (array) get_option( 'formbridge_last_error', array() );
		$never   = __( 'never', 'formbridge' );
		$rows    = array(
			__( 'Pending', 'formbridge' )      => (string) $counts[ FormBridge_Queue::PENDING ],
			__( 'Sent', 'formbridge' )         => (string) $counts[ FormBridge_Queue::SENT ],
			__( 'Parked', 'formbridge' )       => (string) $counts[ FormBridge_Queue::PARKED ],
			__( 'Last success', 'formbridge' ) => $success ? self::when( $success ) : $never,
			__( 'Last error', 'formbridge' )   => ! empty( $error['at'] ) ? self::when( (int) $error['at'] ) . ': ' . $error['message'] : $never,
		);
		echo '<h2>' . esc_html__( 'Status', 'formbridge' ) . '</h2><table class="widefat striped formbridge-status" style="max-width:60em"><tbody>';
		foreach ( $rows as $label => $value ) {
			echo '<tr><th scope="row" style="width:12em">' . esc_html( $label ) . '</th><td>' . esc_html( $value ) . '</td></tr>';
		}
		echo '</tbody></table><p>';
		echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '" style="display:inline-block;margin-right:1em">';
		echo '<input type="hidden" name="action" value="formbridge_test" />';
		wp_nonce_field( 'formbridge_test' );
		submit_button( __( 'Test connection', 'formbridge' ), 'secondary', 'submit', false );
		echo '</form>';
		printf( '<a href="%s">%s</a></p>', esc_url( admin_url( 'tools.php?page=' . self::PAGE ) ), esc_html__( 'Open the queue (Tools → FormBridge)', 'formbridge' ) );
	}

	/**
	 * A moment as "3 minutes ago (2026-12-07 21:40 UTC)".
	 *
	 * @param int $moment Unix time.
	 * @return string
	 */
	private static function when( $moment ) {
		/* translators: 1: how long ago, 2: the UTC time */
		return sprintf( __( '%1$s ago (%2$s UTC)', 'formbridge' ), human_time_diff( $moment, time() ), gmdate( 'Y-m-d H:i', $moment ) );
	}

	/**
	 * The page: counts, the latest rows of each status, the two buttons.
	 */
	public static function render_page() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to manage the FormBridge queue.', 'formbridge' ) );
		}
		$counts = FormBridge_Queue::counts();
		echo '<div class="wrap"><h1>' . esc_html__( 'FormBridge queue', 'formbridge' ) . '</h1>';
		self::flash();
		if ( ! FormBridge_Settings::ready() ) {
			echo '<div class="notice notice-warning"><p>' . esc_html__( 'Submissions are queued but not sent until the URL, tenant id and secret are set (Settings → FormBridge).', 'formbridge' ) . '</p></div>';
		}
		printf(
			'<p>%s</p>',
			esc_html(
				sprintf(
					/* translators: 1: pending, 2: sent, 3: parked */
					__( 'Pending: %1$d · Sent: %2$d · Parked: %3$d', 'formbridge' ),
					$counts['pending'],
					$counts['sent'],
					$counts['parked']
				)
			)
		);
		foreach ( array( 'formbridge_retry' => __( 'Retry waiting and parked now', 'formbridge' ), 'formbridge_test' => __( 'Test connection', 'formbridge' ) ) as $action => $label ) {
			echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '" style="display:inline-block;margin-right:1em">';
			echo '<input type="hidden" name="action" value="' . esc_attr( $action ) . '" />';
			wp_nonce_field( $action );
			submit_button( $label, 'secondary', 'submit', false );
			echo '</form>';
		}
		$statuses = array(
			FormBridge_Queue::PENDING => __( 'Pending', 'formbridge' ),
			FormBridge_Queue::PARKED  => __( 'Parked', 'formbridge' ),
			FormBridge_Queue::SENT    => __( 'Sent', 'formbridge' ),
		);
		foreach ( $statuses as $status => $title ) {
			echo '<h2>' . esc_html( $title ) . '</h2><table class="widefat striped"><thead><tr>';
			foreach ( array( __( 'Submission', 'formbridge' ), __( 'Form', 'formbridge' ), __( 'Attempts', 'formbridge' ), __( 'Next try (UTC)', 'formbridge' ), __( 'Last answer', 'formbridge' ), __( 'Queued (UTC)', 'formbridge' ) ) as $heading ) {
				echo '<th>' . esc_html( $heading ) . '</th>';
			}
			echo '</tr></thead><tbody>';
			$latest = FormBridge_Queue::latest( $status );
			if ( ! $latest ) {
				echo '<tr><td colspan="6">' . esc_html__( 'None.', 'formbridge' ) . '</td></tr>';
			}
			foreach ( $latest as $row ) {
				echo '<tr>';
				foreach ( array( 'submission_id', 'form_id', 'attempts', 'next_attempt_at', 'last_error', 'created_at' ) as $column ) {
					$value = 'last_error' === $column && ! $row['last_error'] && $row['last_status'] ? (string) $row['last_status'] : (string) $row[ $column ];
					echo '<td>' . esc_html( $value ) . '</td>';
				}
				echo '</tr>';
			}
			echo '</tbody></table>';
		}
		echo '</div>';
	}
}
