<?php
/**
 * Capture: each form plugin's documented hook, mapped to FormBridge's canonical envelope and
 * written to the queue before anything is sent.
 *
 * Each captured entry gets its own submission_id, a UUIDv7 made at capture and kept in the
 * queue row: every resend of the row is a duplicate in FormBridge, never a second lead. The form
 * plugin's entry id travels as metadata (payload._wordpress.entry_id), never as the identity: a
 * plugin whose entries table was emptied reuses its ids, and each reuse is a new lead.
 *
 * @package FormBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The hooks and their mappings.
 */
class FormBridge_Capture {

	/** Rows queued during this request, sent at its end. */
	private static $queued = array();

	/** Entries captured during this request (plugin|form|entry id): a hook fired twice for one
	 * entry is one lead. A later request's same entry id is a new lead (ids are reused). */
	private static $captured_entries = array();

	/**
	 * Hooks into every supported form plugin (a hook of a plugin that is not installed never
	 * fires, so registering it costs nothing).
	 */
	public static function register() {
		// Before CF7 sends its mail, after every other plugin had its say (late priority): a lead
		// is captured even when the site's mail then fails (CF7 keeps no entries of its own).
		add_action( 'wpcf7_before_send_mail', array( __CLASS__, 'contact_form_7' ), 9999, 3 );
		add_action( 'wpforms_process_complete', array( __CLASS__, 'wpforms' ), 10, 4 );
		add_action( 'gform_after_submission', array( __CLASS__, 'gravity_forms' ), 10, 2 );
		add_action( 'ninja_forms_after_submission', array( __CLASS__, 'ninja_forms' ), 10, 1 );
		add_action( 'elementor_pro/forms/new_record', array( __CLASS__, 'elementor' ), 10, 2 );
		add_action( 'fluentform/submission_inserted', array( __CLASS__, 'fluent_forms' ), 10, 3 );
		add_action( 'frm_after_create_entry', array( __CLASS__, 'formidable' ), 30, 2 );
		if ( FormBridge_Settings::captures( 'comments' ) ) {
			add_action( 'comment_post', array( __CLASS__, 'comment' ), 10, 3 );
		}
		if ( FormBridge_Settings::captures( 'registrations' ) ) {
			add_action( 'user_register', array( __CLASS__, 'registration' ), 10, 2 );
		}
		add_action( 'shutdown', array( __CLASS__, 'send_queued' ) );
	}

	/**
	 * Contact Form 7: do_action_ref_array( 'wpcf7_before_send_mail', array( $contact_form,
	 * &$abort, $submission ) ), once the submission passed validation and spam checks and before
	 * its mail is sent. The posted data and the uploaded files are on the WPCF7_Submission. A
	 * submission another plugin aborted is not a lead.
	 *
	 * @param object      $contact_form WPCF7_ContactForm.
	 * @param bool        $abort        Whether another plugin stopped the submission.
	 * @param object|null $submission   WPCF7_Submission (older CF7: the current instance).
	 */
	public static function contact_form_7( $contact_form, $abort = false, $submission = null ) {
		if ( $abort || ! class_exists( 'WPCF7_Submission' ) ) {
			return;
		}
		$submission = $submission ? $submission : WPCF7_Submission::get_instance();
		if ( ! $submission ) {
			return;
		}
		$fields = array();
		foreach ( (array) $submission->get_posted_data() as $name => $value ) {
			if ( 0 !== strpos( (string) $name, '_wpcf7' ) ) {
				$fields[ $name ] = $value;
			}
		}
		$files = array();
		foreach ( (array) $submission->uploaded_files() as $field => $paths ) {
			foreach ( (array) $paths as $path ) {
				$files[] = array(
					'field'    => $field,
					'filename' => wp_basename( $path ),
				);
			}
		}
		self::capture( 'cf7', (string) $contact_form->id(), (string) $contact_form->title(), null, $fields, $files );
	}

	/**
	 * WPForms: do_action( 'wpforms_process_complete', $fields, $entry, $form_data, $entry_id ).
	 * $fields is keyed by field id, each with name, value and type; entry_id is 0 in WPForms Lite.
	 *
	 * @param array $fields    The processed fields.
	 * @param array $entry     The raw entry.
	 * @param array $form_data The form.
	 * @param int   $entry_id  The stored entry, or 0.
	 */
	public static function wpforms( $fields, $entry, $form_data, $entry_id = 0 ) {
		$values = array();
		$files  = array();
		foreach ( (array) $fields as $field ) {
			$name = self::field_name( $field, 'name' );
			if ( isset( $field['type'] ) && 'file-upload' === $field['type'] && ! empty( $field['value'] ) ) {
				foreach ( preg_split( '/\s+/', trim( (string) $field['value'] ) ) as $url ) {
					$files[] = self::file( $name, $url );
				}
				continue;
			}
			$values[ $name ] = isset( $field['value'] ) ? $field['value'] : '';
		}
		$title = isset( $form_data['settings']['form_title'] ) ? $form_data['settings']['form_title'] : '';
		self::capture( 'wpforms', (string) $form_data['id'], $title, $entry_id ? (string) $entry_id : null, $values, $files );
	}

	/**
	 * Gravity Forms: do_action( 'gform_after_submission', $entry, $form ). Values are keyed by
	 * field id in $entry; entries Gravity Forms marked as spam are skipped.
	 *
	 * @param array $entry The entry.
	 * @param array $form  The form, with its fields.
	 */
	public static function gravity_forms( $entry, $form ) {
		if ( isset( $entry['status'] ) && 'spam' === $entry['status'] ) {
			return;
		}
		$values = array();
		$files  = array();
		foreach ( (array) $form['fields'] as $field ) {
			$field = (object) $field;
			$id    = (string) $field->id;
			$name  = ! empty( $field->label ) ? (string) $field->label : 'field_' . $id;
			if ( isset( $field->type ) && 'fileupload' === $field->type ) {
				$raw  = isset( $entry[ $id ] ) ? (string) $entry[ $id ] : '';
				$urls = '' !== $raw && '[' === $raw[0] ? (array) json_decode( $raw, true ) : array_filter( array( $raw ) );
				foreach ( $urls as $url ) {
					$files[] = self::file( $name, $url );
				}
				continue;
			}
			if ( ! empty( $field->inputs ) ) {  // name, address: one value per sub-input.
				$parts = array();
				foreach ( (array) $field->inputs as $input ) {
					$input = (array) $input;
					if ( isset( $entry[ (string) $input['id'] ] ) && '' !== $entry[ (string) $input['id'] ] ) {
						$parts[ isset( $input['label'] ) ? $input['label'] : (string) $input['id'] ] = $entry[ (string) $input['id'] ];
					}
				}
				$values[ $name ] = $parts;
				continue;
			}
			$values[ $name ] = isset( $entry[ $id ] ) ? $entry[ $id ] : '';
		}
		$title = isset( $form['title'] ) ? $form['title'] : '';
		self::capture( 'gravityforms', (string) $form['id'], $title, (string) $entry['id'], $values, $files );
	}

	/**
	 * Ninja Forms: do_action( 'ninja_forms_after_submission', $form_data ). Fields carry key,
	 * label and value; the stored submission's id is in actions.save.sub_id.
	 *
	 * @param array $form_data The submission.
	 */
	public static function ninja_forms( $form_data ) {
		$values = array();
		$files  = array();
		$fields = isset( $form_data['fields'] ) ? (array) $form_data['fields'] : array();
		foreach ( $fields as $field ) {
			$name = self::field_name( $field, 'key' );
			if ( isset( $field['type'] ) && in_array( $field['type'], array( 'submit', 'html', 'hr' ), true ) ) {
				continue;
			}
			if ( isset( $field['type'] ) && 'file_upload' === $field['type'] && ! empty( $field['value'] ) ) {
				foreach ( (array) $field['value'] as $url ) {
					$files[] = self::file( $name, $url );
				}
				continue;
			}
			$values[ $name ] = isset( $field['value'] ) ? $field['value'] : '';
		}
		$sub_id = isset( $form_data['actions']['save']['sub_id'] ) ? (string) $form_data['actions']['save']['sub_id'] : null;
		$title  = isset( $form_data['settings']['title'] ) ? $form_data['settings']['title'] : '';
		self::capture( 'ninjaforms', (string) $form_data['form_id'], $title, $sub_id, $values, $files );
	}

	/**
	 * Elementor Pro: do_action( 'elementor_pro/forms/new_record', $record, $ajax_handler ).
	 * $record->get( 'fields' ) is keyed by field id (id, type, title, value); uploads are URLs.
	 *
	 * @param object $record       ElementorPro\Modules\Forms\Classes\Form_Record.
	 * @param object $ajax_handler The handler (unused).
	 */
	public static function elementor( $record, $ajax_handler = null ) {
		$values = array();
		$files  = array();
		foreach ( (array) $record->get( 'fields' ) as $id => $field ) {
			$name = ! empty( $field['title'] ) ? $field['title'] : (string) $id;
			if ( isset( $field['type'] ) && 'upload' === $field['type'] && ! empty( $field['value'] ) ) {
				foreach ( array_map( 'trim', explode( ',', (string) $field['value'] ) ) as $url ) {
					$files[] = self::file( $name, $url );
				}
				continue;
			}
			$values[ $name ] = isset( $field['value'] ) ? $field['value'] : '';
		}
		$settings = (array) $record->get( 'form_settings' );
		$form_id  = isset( $settings['id'] ) ? (string) $settings['id'] : 'form';
		$title    = isset( $settings['form_name'] ) ? $settings['form_name'] : '';
		self::capture( 'elementor', $form_id, $title, null, $values, $files );
	}

	/**
	 * Fluent Forms: do_action( 'fluentform/submission_inserted', $entry_id, $form_data, $form ).
	 *
	 * @param int    $entry_id  The stored entry.
	 * @param array  $form_data The submitted fields (name => value).
	 * @param object $form      The form (id, title).
	 */
	public static function fluent_forms( $entry_id, $form_data, $form ) {
		$values = array();
		$files  = array();
		foreach ( (array) $form_data as $name => $value ) {
			if ( 0 === strpos( (string) $name, '_fluentform_' ) || in_array( $name, array( '__fluent_form_embded_post_id', '_wp_http_referer' ), true ) ) {
				continue;
			}
			if ( is_array( $value ) && $value && self::all_urls( $value ) ) {
				foreach ( $value as $url ) {
					$files[] = self::file( $name, $url );
				}
				continue;
			}
			$values[ $name ] = $value;
		}
		self::capture( 'fluentforms', (string) $form->id, isset( $form->title ) ? $form->title : '', (string) $entry_id, $values, $files );
	}

	/**
	 * Formidable: do_action( 'frm_after_create_entry', $entry_id, $form_id ). The values are
	 * read back with FrmEntry::getOne( $entry_id, true ) (metas keyed by field id) and named by
	 * FrmField::get_all_for_form().
	 *
	 * @param int $entry_id The entry.
	 * @param int $form_id  The form.
	 */
	public static function formidable( $entry_id, $form_id ) {
		if ( ! class_exists( 'FrmEntry' ) || ! class_exists( 'FrmField' ) ) {
			return;
		}
		$entry = FrmEntry::getOne( $entry_id, true );
		if ( ! $entry ) {
			return;
		}
		$names = array();
		$types = array();
		foreach ( (array) FrmField::get_all_for_form( $form_id ) as $field ) {
			$names[ (string) $field->id ] = ! empty( $field->field_key ) ? $field->field_key : $field->name;
			$types[ (string) $field->id ] = $field->type;
		}
		$values = array();
		$files  = array();
		foreach ( (array) $entry->metas as $field_id => $value ) {
			$name = isset( $names[ (string) $field_id ] ) ? $names[ (string) $field_id ] : 'field_' . $field_id;
			if ( isset( $types[ (string) $field_id ] ) && 'file' === $types[ (string) $field_id ] ) {
				foreach ( (array) $value as $attachment_id ) {
					$url = wp_get_attachment_url( (int) $attachment_id );
					if ( $url ) {
						$files[] = self::file( $name, $url );
					}
				}
				continue;
			}
			$values[ $name ] = $value;
		}
		self::capture( 'formidable', (string) $form_id, isset( $entry->form_name ) ? $entry->form_name : '', (string) $entry_id, $values, $files );
	}

	/**
	 * WordPress comments: do_action( 'comment_post', $comment_id, $approved, $commentdata ).
	 * Spam comments are skipped.
	 *
	 * @param int        $comment_id  The comment.
	 * @param int|string $approved    1, 0 or 'spam'.
	 * @param array      $commentdata The comment's data.
	 */
	public static function comment( $comment_id, $approved, $commentdata ) {
		if ( 'spam' === $approved || 'trash' === $approved ) {
			return;
		}
		$values = array(
			'author'  => isset( $commentdata['comment_author'] ) ? $commentdata['comment_author'] : '',
			'email'   => isset( $commentdata['comment_author_email'] ) ? $commentdata['comment_author_email'] : '',
			'url'     => isset( $commentdata['comment_author_url'] ) ? $commentdata['comment_author_url'] : '',
			'comment' => isset( $commentdata['comment_content'] ) ? $commentdata['comment_content'] : '',
			'post_id' => isset( $commentdata['comment_post_ID'] ) ? (int) $commentdata['comment_post_ID'] : 0,
		);
		self::capture( 'comments', 'comment', __( 'Comment', 'formbridge' ), (string) $comment_id, $values, array() );
	}

	/**
	 * User registrations: do_action( 'user_register', $user_id, $userdata ). No password.
	 *
	 * @param int   $user_id  The user.
	 * @param array $userdata The user's data.
	 */
	public static function registration( $user_id, $userdata = array() ) {
		$user   = get_userdata( $user_id );
		$values = array(
			'login' => $user ? $user->user_login : '',
			'email' => $user ? $user->user_email : '',
			'name'  => $user ? $user->display_name : '',
		);
		self::capture( 'registrations', 'user_register', __( 'User registration', 'formbridge' ), (string) $user_id, $values, array() );
	}

	/**
	 * Builds the canonical envelope and queues it.
	 *
	 * @param string      $plugin   The form plugin (cf7, wpforms...).
	 * @param string      $form     The plugin's form id.
	 * @param string      $title    The form's title.
	 * @param string|null $entry_id The plugin's entry id, when it keeps entries.
	 * @param array       $values   Field name => value.
	 * @param array       $files    Uploaded files (field, filename, url).
	 * @return int|null The queue row, or null if this entry was queued before.
	 */
	public static function capture( $plugin, $form, $title, $entry_id, array $values, array $files ) {
		$entry_key = null !== $entry_id && '' !== $entry_id ? "{$plugin}|{$form}|{$entry_id}" : null;
		if ( null !== $entry_key && isset( self::$captured_entries[ $entry_key ] ) ) {
			return null; // this request captured the entry already.
		}
		$form_id  = substr( $plugin . '-' . sanitize_key( $form ), 0, 128 );
		$envelope = array(
			'submission_id' => formbridge_uuid7(),
			'form_id'       => $form_id,
			'source'        => 'wordpress',
			'event_type'    => 'form.submitted',
			'submitted_at'  => gmdate( 'c' ),
			'payload'       => array_merge(
				$values,
				array(
					'_wordpress' => array(
						'site_url'   => home_url(),
						'plugin'     => $plugin,
						'form'       => $form,
						'form_title' => (string) $title,
						'entry_id'   => $entry_id,
					),
				)
			),
			'attachments'   => array_values( $files ),
		);
		/**
		 * Filters the envelope before it is queued (add fields, drop some, change form_id).
		 *
		 * @param array  $envelope The canonical envelope.
		 * @param string $plugin   The form plugin.
		 */
		$envelope = apply_filters( 'formbridge_envelope', $envelope, $plugin );
		if ( ! is_array( $envelope ) ) {
			return null; // a filter chose to drop it.
		}
		$row = FormBridge_Queue::enqueue( $envelope, $plugin );
		if ( null !== $row ) {
			self::$queued[] = $row;
			if ( null !== $entry_key ) {
				self::$captured_entries[ $entry_key ] = $row;
			}
		}
		return $row;
	}

	/**
	 * At the end of the request: send what it queued, without keeping the visitor waiting.
	 */
	public static function send_queued() {
		if ( ! self::$queued ) {
			return;
		}
		$ids                    = self::$queued;
		self::$queued           = array();
		self::$captured_entries = array();
		FormBridge_Spawn::send_later( $ids );
	}

	/**
	 * A field's name, falling back to its id.
	 *
	 * @param array  $field The field.
	 * @param string $key   Which of its keys names it.
	 * @return string
	 */
	private static function field_name( $field, $key ) {
		if ( ! empty( $field[ $key ] ) ) {
			return (string) $field[ $key ];
		}
		if ( ! empty( $field['label'] ) ) {
			return (string) $field['label'];
		}
		return 'field_' . ( isset( $field['id'] ) ? $field['id'] : '' );
	}

	/**
	 * An uploaded file as an attachment (its public URL).
	 *
	 * @param string $field The field's name.
	 * @param string $url   The file's URL.
	 * @return array
	 */
	private static function file( $field, $url ) {
		return array(
			'field'    => $field,
			'filename' => wp_basename( (string) wp_parse_url( $url, PHP_URL_PATH ) ),
			'url'      => esc_url_raw( $url ),
		);
	}

	/**
	 * Whether every value is a URL (Fluent Forms gives uploads as a list of URLs).
	 *
	 * @param array $values The values.
	 * @return bool
	 */
	private static function all_urls( array $values ) {
		foreach ( $values as $value ) {
			if ( ! is_string( $value ) || ! preg_match( '#^https?://#', $value ) ) {
				return false;
			}
		}
		return true;
	}
}
