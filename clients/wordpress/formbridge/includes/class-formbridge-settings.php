<?php
/**
 * Settings (Settings API): the endpoint, the tenant id and the signing secret.
 *
 * The secret is its own option with autoload off (it is not loaded on every page) and it is
 * never printed back: the field stays empty, and an empty submit keeps the stored secret.
 *
 * @package FormBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The settings page and the reads of its options.
 */
class FormBridge_Settings {

	const PAGE   = 'formbridge';
	const GROUP  = 'formbridge_settings';
	const SECRET = 'formbridge_secret';
	/** Seconds a send may take, unless the owner chose otherwise (the readme says 5). */
	const DEFAULT_TIMEOUT = 5;

	/**
	 * Registers the options and, in the admin, the page.
	 */
	public static function register() {
		add_action( 'admin_init', array( __CLASS__, 'register_settings' ) );
		add_action( 'admin_menu', array( __CLASS__, 'add_page' ) );
		// Corrected settings heal what the old ones got refused: parked rows are sent again.
		foreach ( array( 'formbridge_endpoint', 'formbridge_tenant_id', self::SECRET ) as $option ) {
			add_action( "update_option_{$option}", array( __CLASS__, 'settings_changed' ) );
			add_action( "add_option_{$option}", array( __CLASS__, 'settings_changed' ) );
		}
	}

	/**
	 * Parked rows are due again, and sent once this request is over (not a minute later: the
	 * owner who just fixed the secret wants to see them go).
	 */
	public static function settings_changed() {
		if ( FormBridge_Queue::requeue_parked() > 0 && ! has_action( 'shutdown', array( __CLASS__, 'send_requeued' ) ) ) {
			add_action( 'shutdown', array( __CLASS__, 'send_requeued' ) );
		}
	}

	/**
	 * Sends what the corrected settings made due.
	 */
	public static function send_requeued() {
		FormBridge_Spawn::send_later( array() );
	}

	/**
	 * Seconds to add to this server's clock to match FormBridge's (learned from its answers).
	 *
	 * @return int
	 */
	public static function clock_offset() {
		return (int) get_option( 'formbridge_clock_offset', 0 );
	}

	/**
	 * Records FormBridge's time (server_time in its answer) as this server's clock offset.
	 *
	 * @param string $server_time ISO 8601.
	 */
	public static function learn_clock( $server_time ) {
		$then = strtotime( (string) $server_time );
		if ( false !== $then ) {
			update_option( 'formbridge_clock_offset', $then - time(), false );
		}
	}

	/**
	 * The endpoint, e.g. https://forms.example.com (no trailing slash).
	 *
	 * @return string
	 */
	public static function endpoint() {
		return untrailingslashit( (string) get_option( 'formbridge_endpoint', '' ) );
	}

	/**
	 * The tenant id, e.g. t_acme.
	 *
	 * @return string
	 */
	public static function tenant_id() {
		return (string) get_option( 'formbridge_tenant_id', '' );
	}

	/**
	 * The signing secret (fbs_...).
	 *
	 * @return string
	 */
	public static function secret() {
		return (string) get_option( self::SECRET, '' );
	}

	/**
	 * Seconds a send may take: short, so that nobody waits on FormBridge.
	 *
	 * @return int
	 */
	public static function timeout() {
		return max( 1, (int) get_option( 'formbridge_timeout', self::DEFAULT_TIMEOUT ) );
	}

	/**
	 * Whether the settings are complete enough to send.
	 *
	 * @return bool
	 */
	public static function ready() {
		return '' !== self::endpoint() && '' !== self::tenant_id() && '' !== self::secret();
	}

	/**
	 * Which optional sources are captured (comments, user registrations).
	 *
	 * @param string $name The optional source.
	 * @return bool
	 */
	public static function captures( $name ) {
		return (bool) get_option( 'formbridge_capture_' . $name, false );
	}

	/**
	 * Stores the secret with autoload off.
	 *
	 * @param string $secret The signing secret.
	 */
	public static function set_secret( $secret ) {
		if ( false === get_option( self::SECRET, false ) ) {
			add_option( self::SECRET, $secret, '', 'no' );
		} else {
			update_option( self::SECRET, $secret, false );
		}
	}

	/**
	 * Settings API: the options, their sanitizers, the section and its fields.
	 */
	public static function register_settings() {
		register_setting(
			self::GROUP,
			'formbridge_endpoint',
			array(
				'type'              => 'string',
				'sanitize_callback' => array( __CLASS__, 'sanitize_endpoint' ),
				'default'           => '',
			)
		);
		register_setting(
			self::GROUP,
			'formbridge_tenant_id',
			array(
				'type'              => 'string',
				'sanitize_callback' => array( __CLASS__, 'sanitize_tenant_id' ),
				'default'           => '',
			)
		);
		register_setting(
			self::GROUP,
			'formbridge_timeout',
			array(
				'type'              => 'integer',
				'sanitize_callback' => array( __CLASS__, 'sanitize_timeout' ),
				'default'           => self::DEFAULT_TIMEOUT,
			)
		);
		foreach ( array( 'comments', 'registrations' ) as $optional ) {
			register_setting(
				self::GROUP,
				'formbridge_capture_' . $optional,
				array(
					'type'              => 'boolean',
					'sanitize_callback' => 'rest_sanitize_boolean',
					'default'           => false,
				)
			);
		}
		// The secret is a setting of the page, but stored by its own sanitizer (autoload off).
		register_setting(
			self::GROUP,
			'formbridge_secret_input',
			array(
				'type'              => 'string',
				'sanitize_callback' => array( __CLASS__, 'sanitize_secret' ),
				'default'           => '',
			)
		);

		add_settings_section( 'formbridge_main', __( 'Connection', 'formbridge' ), '__return_false', self::PAGE );
		self::field( 'formbridge_endpoint', __( 'FormBridge URL', 'formbridge' ), 'url', __( 'For example https://forms.example.com', 'formbridge' ) );
		self::field( 'formbridge_tenant_id', __( 'Tenant id', 'formbridge' ), 'text', __( 'For example t_acme', 'formbridge' ) );
		self::field( 'formbridge_secret_input', __( 'Signing secret', 'formbridge' ), 'password', '' );
		self::field( 'formbridge_timeout', __( 'Timeout (seconds)', 'formbridge' ), 'number', __( 'How long a send may take before it is retried in the background.', 'formbridge' ) );
		self::field( 'formbridge_capture_comments', __( 'Also send comments', 'formbridge' ), 'checkbox', '' );
		self::field( 'formbridge_capture_registrations', __( 'Also send user registrations', 'formbridge' ), 'checkbox', '' );
	}

	/**
	 * One field of the section.
	 *
	 * @param string $name  The option.
	 * @param string $label The label.
	 * @param string $type  The input type.
	 * @param string $help  A line of help.
	 */
	private static function field( $name, $label, $type, $help ) {
		add_settings_field(
			$name,
			$label,
			array( __CLASS__, 'render_field' ),
			self::PAGE,
			'formbridge_main',
			array(
				'name'      => $name,
				'type'      => $type,
				'help'      => $help,
				'label_for' => $name,
			)
		);
	}

	/**
	 * Prints one field. The secret's field is always empty.
	 *
	 * @param array $args The field's name, type and help.
	 */
	public static function render_field( $args ) {
		$name = $args['name'];
		if ( 'checkbox' === $args['type'] ) {
			printf(
				'<input type="checkbox" id="%1$s" name="%1$s" value="1" %2$s />',
				esc_attr( $name ),
				checked( (bool) get_option( $name ), true, false )
			);
			return;
		}
		if ( 'password' === $args['type'] ) {
			printf(
				'<input type="password" id="%1$s" name="%1$s" value="" class="regular-text" autocomplete="new-password" />',
				esc_attr( $name )
			);
			echo '<p class="description">' . esc_html(
				'' !== self::secret()
					? __( 'A secret is stored. Leave this empty to keep it; type a new one to replace it.', 'formbridge' )
					: __( 'The tenant signing secret (fbs_...), shown once by FormBridge.', 'formbridge' )
			) . '</p>';
			return;
		}
		printf(
			'<input type="%1$s" id="%2$s" name="%2$s" value="%3$s" class="regular-text" />',
			esc_attr( $args['type'] ),
			esc_attr( $name ),
			// The timeout shows what is in effect (5 s on a fresh install), never an empty field
			// that would save as 1 s.
			esc_attr( (string) ( 'formbridge_timeout' === $name ? self::timeout() : get_option( $name, '' ) ) )
		);
		if ( '' !== $args['help'] ) {
			echo '<p class="description">' . esc_html( $args['help'] ) . '</p>';
		}
	}

	/**
	 * Seconds a send may take: 1-60, and the default when the field is left empty.
	 *
	 * @param mixed $value The submitted value.
	 * @return int
	 */
	public static function sanitize_timeout( $value ) {
		$seconds = absint( $value );
		return $seconds ? min( 60, $seconds ) : self::DEFAULT_TIMEOUT;
	}

	/**
	 * An http(s) URL without a trailing slash.
	 *
	 * @param string $value The submitted value.
	 * @return string
	 */
	public static function sanitize_endpoint( $value ) {
		$url = esc_url_raw( trim( (string) $value ), array( 'http', 'https' ) );
		return untrailingslashit( $url );
	}

	/**
	 * A tenant id: letters, digits, _ and -.
	 *
	 * @param string $value The submitted value.
	 * @return string
	 */
	public static function sanitize_tenant_id( $value ) {
		return preg_replace( '/[^A-Za-z0-9_\-]/', '', (string) $value );
	}

	/**
	 * Stores a newly typed secret (autoload off); an empty field keeps the stored one. The
	 * input option itself always stays empty.
	 *
	 * @param string $value The submitted value.
	 * @return string
	 */
	public static function sanitize_secret( $value ) {
		$value = trim( (string) $value );
		if ( '' !== $value ) {
			self::set_secret( $value );
		}
		return '';
	}

	/**
	 * Settings → FormBridge.
	 */
	public static function add_page() {
		add_options_page(
			__( 'FormBridge', 'formbridge' ),
			__( 'FormBridge', 'formbridge' ),
			'manage_options',
			self::PAGE,
			array( __CLASS__, 'render_page' )
		);
	}

	/**
	 * The settings page.
	 */
	public static function render_page() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You are not allowed to change these settings.', 'formbridge' ) );
		}
		echo '<div class="wrap"><h1>' . esc_html__( 'FormBridge', 'formbridge' ) . '</h1>';
		FormBridge_Admin::flash();
		FormBridge_Admin::status_panel();
		echo '<form method="post" action="options.php">';
		settings_fields( self::GROUP );
		do_settings_sections( self::PAGE );
		submit_button();
		echo '</form></div>';
	}
}
