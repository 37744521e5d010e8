<?php
/**
 * Tools → FormBridge: the queue (pending, sent, parked), Retry and Send test.
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
	 * Send test: a test submission, straight to FormBridge (not queued), and its answer.
	 */
	public static function handle_test() {
		self::guard( 'formbridge_test' );
		$body   = wp_json_encode(
			array(
				'submission_id' => 'wp-test-' . wp_generate_uuid4(),
				'form_id'       => 'formbridge-test',
				'source'        => 'wordpress',
				'event_type'    => 'formbridge.test',
				'payload'       => array(
					'message'    => __( 'A test submission from the FormBridge plugin.', 'formbridge' ),
					'_wordpress' => array( 'site_url' => home_url() ),
				),
			)
		);
		$answer = FormBridge_Sender::post( '/v1/ingest', $body );
		$text   = $answer['status']
			/* translators: 1: HTTP status, 2: FormBridge's answer or error */
			? sprintf( __( 'FormBridge answered %1$d: %2$s', 'formbridge' ), $answer['status'], $answer['error'] ? $answer['error'] : $answer['body'] )
			/* translators: %s: the connection error */
			: sprintf( __( 'FormBridge could not be reached: %s', 'formbridge' ), $answer['error'] );
		self::back( $text );
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
	 * Back to the page with a message.
	 *
	 * @param string $message What happened.
	 */
	private static function back( $message ) {
		set_transient( 'formbridge_notice_' . get_current_user_id(), $message, 60 );
		wp_safe_redirect( admin_url( 'tools.php?page=' . self::PAGE ) );
		exit;
	}

	/**
	 * The page: counts, the latest rows of each status, the two buttons.
	 */
	public static function render_page() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to manage the FormBridge queue.', 'formbridge' ) );
		}
		$notice = get_transient( 'formbridge_notice_' . get_current_user_id() );
		delete_transient( 'formbridge_notice_' . get_current_user_id() );
		$counts = FormBridge_Queue::counts();
		echo '<div class="wrap"><h1>' . esc_html__( 'FormBridge queue', 'formbridge' ) . '</h1>';
		if ( $notice ) {
			echo '<div class="notice notice-info"><p>' . esc_html( $notice ) . '</p></div>';
		}
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
		foreach ( array( 'formbridge_retry' => __( 'Retry waiting and parked now', 'formbridge' ), 'formbridge_test' => __( 'Send test', 'formbridge' ) ) as $action => $label ) {
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
			foreach ( FormBridge_Queue::latest( $status ) as $row ) {
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
