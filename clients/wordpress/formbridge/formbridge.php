<?php
/**
 * Plugin Name:       FormBridge
 * Plugin URI:        https://github.com/formbridge/formbridge
 * Description:       Sends every form submission (Contact Form 7, WPForms, Gravity Forms, Ninja Forms, Elementor Pro, Fluent Forms, Formidable) to FormBridge, signed, through a local queue that never loses a lead.
 * Version:           0.2.0
 * Requires at least: 6.0
 * Requires PHP:      7.4
 * Author:            FormBridge
 * License:           GPL-2.0-or-later
 * Text Domain:       formbridge
 * Domain Path:       /languages
 *
 * @package FormBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'FORMBRIDGE_VERSION', '0.2.0' );
define( 'FORMBRIDGE_FILE', __FILE__ );
define( 'FORMBRIDGE_DIR', plugin_dir_path( __FILE__ ) );

require_once FORMBRIDGE_DIR . 'includes/functions-formbridge-ids.php';
require_once FORMBRIDGE_DIR . 'includes/class-formbridge-settings.php';
require_once FORMBRIDGE_DIR . 'includes/class-formbridge-queue.php';
require_once FORMBRIDGE_DIR . 'includes/class-formbridge-files.php';
require_once FORMBRIDGE_DIR . 'includes/class-formbridge-sender.php';
require_once FORMBRIDGE_DIR . 'includes/class-formbridge-spawn.php';
require_once FORMBRIDGE_DIR . 'includes/class-formbridge-capture.php';
require_once FORMBRIDGE_DIR . 'includes/class-formbridge-scheduler.php';
require_once FORMBRIDGE_DIR . 'includes/class-formbridge-admin.php';
require_once FORMBRIDGE_DIR . 'includes/class-formbridge-privacy.php';

register_activation_hook( __FILE__, array( 'FormBridge_Plugin', 'activate' ) );
register_deactivation_hook( __FILE__, array( 'FormBridge_Plugin', 'deactivate' ) );

/**
 * Wires the parts together.
 */
class FormBridge_Plugin {

	/**
	 * Creates (or upgrades) the queue table and schedules the retries.
	 */
	public static function activate() {
		FormBridge_Queue::install();
		FormBridge_Scheduler::schedule();
	}

	/**
	 * Stops the retries; the queue and settings stay until the plugin is deleted.
	 */
	public static function deactivate() {
		FormBridge_Scheduler::unschedule();
	}

	/**
	 * Hooks everything in on every request.
	 */
	public static function boot() {
		load_plugin_textdomain( 'formbridge', false, dirname( plugin_basename( FORMBRIDGE_FILE ) ) . '/languages' );
		if ( get_option( 'formbridge_db_version' ) !== FORMBRIDGE_VERSION ) {
			FormBridge_Queue::install();
		}
		FormBridge_Settings::register();
		FormBridge_Capture::register();
		FormBridge_Spawn::register();
		FormBridge_Scheduler::register();
		FormBridge_Admin::register();
		FormBridge_Privacy::register();
	}
}

add_action( 'plugins_loaded', array( 'FormBridge_Plugin', 'boot' ) );
