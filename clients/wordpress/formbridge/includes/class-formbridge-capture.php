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
	 * its mail is sent. The posted data (a checkbox's choices as a list) and the uploaded files
	 * (in a folder CF7 empties when the request ends: copied now) are on the WPCF7_Submission. A
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
		$uploaded = (array) $submission->uploaded_files();
		$files    = array();
		foreach ( $uploaded as $field => $paths ) {
			foreach ( (array) $paths as $path ) {
				$files[] = array(
					'field'    => $field,
					'filename' => wp_basename( $path ),
					'path'     => $path,
				);
			}
		}
		$fields = array();
		foreach ( (array) $submission->get_posted_data() as $name => $value ) {
			if ( 0 !== strpos( (string) $name, '_wpcf7' ) && ! isset( $uploaded[ $name ] ) ) {
				$fields[ $name ] = $value;
			}
		}
		$post = method_exists( $submission, 'get_meta' ) ? (int) $submission->get_meta( 'container_post_id' ) : 0;
		$page = $post ? (string) get_permalink( $post ) : ''; // the page holding the form.
		self::capture( 'cf7', (string) $contact_form->id(), (string) $contact_form->title(), null, $fields, $files, array(), $page );
	}

	/**
	 * WPForms: do_action( 'wpforms_process_complete', $fields, $entry, $form_data, $entry_id ).
	 * $fields is keyed by field id, each with its label (name), value and type; keys are
	 * field_<id> (labels change, ids do not), a name's parts an object, a checkbox's choices a
	 * list (the visitor's own, from $entry). entry_id is 0 in WPForms Lite.
	 *
	 * @param array $fields    The processed fields.
	 * @param array $entry     The raw entry.
	 * @param array $form_data The form.
	 * @param int   $entry_id  The stored entry, or 0.
	 */
	public static function wpforms( $fields, $entry, $form_data, $entry_id = 0 ) {
		$values = array();
		$labels = array();
		$files  = array();
		$posted = isset( $entry['fields'] ) ? (array) $entry['fields'] : array();
		foreach ( (array) $fields as $id => $field ) {
			$id            = isset( $field['id'] ) ? $field['id'] : $id;
			$key           = 'field_' . $id;
			$type          = isset( $field['type'] ) ? $field['type'] : '';
			$labels[ $key ] = isset( $field['name'] ) ? (string) $field['name'] : '';
			if ( 'file-upload' === $type ) {
				foreach ( self::upload_urls( isset( $field['value'] ) ? $field['value'] : '' ) as $url ) {
					$files[] = self::file( $key, $url );
				}
				continue;
			}
			$parts = 'name' === $type ? self::name_parts( $field ) : array();
			if ( $parts ) { // a simple-format name has no parts: it stays a string.
				$values[ $key ] = $parts;
				continue;
			}
			if ( isset( $posted[ $id ] ) && is_array( $posted[ $id ] ) && in_array( $type, array( 'checkbox', 'select', 'payment-checkbox' ), true ) ) {
				$values[ $key ] = array_values( array_map( 'strval', $posted[ $id ] ) );
				continue;
			}
			$values[ $key ] = isset( $field['value'] ) ? $field['value'] : '';
		}
		$title = isset( $form_data['settings']['form_title'] ) ? $form_data['settings']['form_title'] : '';
		$page  = isset( $_POST['page_url'] ) ? esc_url_raw( wp_unslash( $_POST['page_url'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification.Missing -- WPForms checked its own token.
		self::capture( 'wpforms', (string) $form_data['id'], $title, $entry_id ? (string) $entry_id : null, $values, $files, $labels, $page );
	}

	/**
	 * Gravity Forms: do_action( 'gform_after_submission', $entry, $form ). Values are keyed by
	 * field id in $entry (sub-inputs by "id.n"); entries Gravity Forms marked as spam are skipped.
	 * Keys are the field's parameter name (inputName) or field_<id>; a name's parts an object
	 * (first, middle, last, prefix, suffix), an address's parts an object keyed by their labels,
	 * a checkbox's ticked choices a list. Written to Gravity Forms' developer documentation of
	 * gform_after_submission, the Entry Object and the Field Object (it is commercial: no code
	 * of its own runs here).
	 *
	 * @param array $entry The entry.
	 * @param array $form  The form, with its fields.
	 */
	public static function gravity_forms( $entry, $form ) {
		if ( isset( $entry['status'] ) && 'spam' === $entry['status'] ) {
			return;
		}
		$values = array();
		$labels = array();
		$files  = array();
		$parts  = array( '2' => 'prefix', '3' => 'first', '4' => 'middle', '6' => 'last', '8' => 'suffix' );
		foreach ( (array) $form['fields'] as $field ) {
			$field          = (object) $field;
			$id             = (string) $field->id;
			$key            = ! empty( $field->inputName ) ? (string) $field->inputName : 'field_' . $id; // phpcs:ignore WordPress.NamingConventions.ValidVariableName.UsedPropertyNotSnakeCase
			$type           = isset( $field->type ) ? $field->type : '';
			$labels[ $key ] = isset( $field->label ) ? (string) $field->label : '';
			if ( 'fileupload' === $type ) {
				$raw  = isset( $entry[ $id ] ) ? (string) $entry[ $id ] : '';
				$urls = '' !== $raw && '[' === $raw[0] ? (array) json_decode( $raw, true ) : array_filter( array( $raw ) );
				foreach ( $urls as $url ) {
					$files[] = self::file( $key, $url );
				}
				continue;
			}
			if ( empty( $field->inputs ) ) {
				$values[ $key ] = isset( $entry[ $id ] ) ? $entry[ $id ] : '';
				continue;
			}
			$value = array();
			foreach ( (array) $field->inputs as $input ) {
				$input  = (array) $input;
				$answer = isset( $entry[ (string) $input['id'] ] ) ? (string) $entry[ (string) $input['id'] ] : '';
				if ( '' === $answer ) {
					continue;
				}
				$suffix = substr( strrchr( (string) $input['id'], '.' ), 1 );
				if ( 'checkbox' === $type ) {
					$value[] = $answer;
				} elseif ( 'name' === $type && isset( $parts[ $suffix ] ) ) {
					$value[ $parts[ $suffix ] ] = $answer;
				} else {
					$value[ isset( $input['label'] ) ? (string) $input['label'] : (string) $input['id'] ] = $answer;
				}
			}
			$values[ $key ] = $value;
		}
		$title = isset( $form['title'] ) ? $form['title'] : '';
		$page  = isset( $entry['source_url'] ) ? (string) $entry['source_url'] : '';
		self::capture( 'gravityforms', (string) $form['id'], $title, (string) $entry['id'], $values, $files, $labels, $page );
	}

	/**
	 * Ninja Forms: do_action( 'ninja_forms_after_submission', $form_data ). Fields carry key,
	 * label and value (a list checkbox's a list already); the stored submission's id is in
	 * actions.save.sub_id.
	 *
	 * @param array $form_data The submission.
	 */
	public static function ninja_forms( $form_data ) {
		$values = array();
		$labels = array();
		$files  = array();
		$fields = isset( $form_data['fields'] ) ? (array) $form_data['fields'] : array();
		foreach ( $fields as $field ) {
			$name = self::field_name( $field, 'key' );
			if ( isset( $field['type'] ) && in_array( $field['type'], array( 'submit', 'html', 'hr' ), true ) ) {
				continue;
			}
			$labels[ $name ] = isset( $field['label'] ) ? (string) $field['label'] : '';
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
		self::capture( 'ninjaforms', (string) $form_data['form_id'], $title, $sub_id, $values, $files, $labels );
	}

	/**
	 * Elementor Pro: do_action( 'elementor_pro/forms/new_record', $record, $ajax_handler ).
	 * $record->get( 'fields' ) is keyed by the field's custom id (id, type, title, value,
	 * raw_value); a checkbox's raw_value is the list of choices, uploads are URLs. Written to
	 * Elementor's developer documentation of the Form_Record (it is commercial: no code of its
	 * own runs here). The page is $record->get( 'meta' )['page_url'] when the form sends it.
	 *
	 * @param object $record       ElementorPro\Modules\Forms\Classes\Form_Record.
	 * @param object $ajax_handler The handler (unused).
	 */
	public static function elementor( $record, $ajax_handler = null ) {
		$values = array();
		$labels = array();
		$files  = array();
		foreach ( (array) $record->get( 'fields' ) as $id => $field ) {
			$key            = ! empty( $field['id'] ) ? (string) $field['id'] : (string) $id;
			$labels[ $key ] = isset( $field['title'] ) ? (string) $field['title'] : '';
			if ( isset( $field['type'] ) && 'upload' === $field['type'] && ! empty( $field['value'] ) ) {
				foreach ( array_map( 'trim', explode( ',', (string) $field['value'] ) ) as $url ) {
					$files[] = self::file( $key, $url );
				}
				continue;
			}
			$values[ $key ] = isset( $field['raw_value'] ) && is_array( $field['raw_value'] ) ? array_values( $field['raw_value'] ) : ( isset( $field['value'] ) ? $field['value'] : '' );
		}
		$settings = (array) $record->get( 'form_settings' );
		$meta     = (array) $record->get( 'meta' );
		$form_id  = isset( $settings['id'] ) ? (string) $settings['id'] : 'form';
		$title    = isset( $settings['form_name'] ) ? $settings['form_name'] : '';
		$page     = isset( $meta['page_url']['value'] ) ? (string) $meta['page_url']['value'] : '';
		self::capture( 'elementor', $form_id, $title, null, $values, $files, $labels, $page );
	}

	/**
	 * Fluent Forms: do_action( 'fluentform/submission_inserted', $entry_id, $form_data, $form ).
	 * Keys are the inputs' names; a name field's parts an object (first, middle, last); labels
	 * come from the form's own field definitions; uploads are URLs in this site's uploads.
	 *
	 * @param int    $entry_id  The stored entry.
	 * @param array  $form_data The submitted fields (name => value).
	 * @param object $form      The form (id, title, form_fields).
	 */
	public static function fluent_forms( $entry_id, $form_data, $form ) {
		$values = array();
		$files  = array();
		$fields = self::fluent_fields( isset( $form->form_fields ) ? $form->form_fields : '' );
		foreach ( (array) $form_data as $name => $value ) {
			if ( 0 === strpos( (string) $name, '_fluentform_' ) || in_array( $name, array( '__fluent_form_embded_post_id', '_wp_http_referer' ), true ) ) {
				continue;
			}
			$element = isset( $fields[ $name ] ) ? $fields[ $name ]['element'] : '';
			if ( in_array( $element, array( 'input_file', 'input_image' ), true ) || ( is_array( $value ) && $value && self::all_urls( $value ) ) ) {
				foreach ( (array) $value as $url ) {
					$files[] = self::file( $name, $url );
				}
				continue;
			}
			$values[ $name ] = 'input_name' === $element && is_array( $value ) ? self::name_parts( $value ) : $value;
		}
		$labels = array();
		foreach ( $fields as $name => $field ) {
			$labels[ $name ] = $field['label'];
		}
		$page = isset( $form_data['__fluent_form_embded_post_id'] ) ? (string) get_permalink( (int) $form_data['__fluent_form_embded_post_id'] ) : '';
		self::capture( 'fluentforms', (string) $form->id, isset( $form->title ) ? $form->title : '', (string) $entry_id, $values, $files, array_intersect_key( $labels, $values + array_flip( array_column( $files, 'field' ) ) ), $page );
	}

	/**
	 * Fluent Forms' field definitions: input name => element and label.
	 *
	 * @param string $json The form's form_fields.
	 * @return array<string,array{element:string,label:string}>
	 */
	private static function fluent_fields( $json ) {
		$decoded = json_decode( (string) $json, true );
		$fields  = array();
		foreach ( isset( $decoded['fields'] ) ? (array) $decoded['fields'] : array() as $field ) {
			$name = isset( $field['attributes']['name'] ) ? (string) $field['attributes']['name'] : '';
			if ( '' === $name ) {
				continue;
			}
			$settings        = isset( $field['settings'] ) ? (array) $field['settings'] : array();
			$label           = ! empty( $settings['admin_field_label'] ) ? $settings['admin_field_label'] : ( isset( $settings['label'] ) ? $settings['label'] : '' );
			$fields[ $name ] = array(
				'element' => isset( $field['element'] ) ? (string) $field['element'] : '',
				'label'   => (string) $label,
			);
		}
		return $fields;
	}

	/**
	 * Formidable: do_action( 'frm_after_create_entry', $entry_id, $form_id ). The values are
	 * read back with FrmEntry::getOne( $entry_id, true ) (metas keyed by field id), keyed by each
	 * field's field_key and labelled by its name. A repeater's rows are child entries: they
	 * travel inside their parent (its field's value, one object per row), never as leads of
	 * their own.
	 *
	 * @param int $entry_id The entry.
	 * @param int $form_id  The form.
	 */
	public static function formidable( $entry_id, $form_id ) {
		if ( ! class_exists( 'FrmEntry' ) || ! class_exists( 'FrmField' ) ) {
			return;
		}
		$entry = FrmEntry::getOne( $entry_id, true );
		if ( ! $entry || ! empty( $entry->parent_item_id ) ) {
			return; // a repeater's row: its parent carries it.
		}
		$labels = array();
		$files  = array();
		$values = self::formidable_values( $entry, $form_id, $labels, $files );
		$page   = isset( $_SERVER['HTTP_REFERER'] ) ? esc_url_raw( wp_unslash( $_SERVER['HTTP_REFERER'] ) ) : '';
		self::capture( 'formidable', (string) $form_id, isset( $entry->form_name ) ? $entry->form_name : '', (string) $entry_id, $values, $files, $labels, $page );
	}

	/**
	 * An entry's values by field_key; a repeater's child entries as a list of objects.
	 *
	 * @param object $entry   The entry, with its metas.
	 * @param int    $form_id Its form.
	 * @param array  $labels  Filled: key => label.
	 * @param array  $files   Filled: the uploads.
	 * @return array
	 */
	private static function formidable_values( $entry, $form_id, array &$labels, array &$files ) {
		$fields = array();
		foreach ( (array) FrmField::get_all_for_form( $form_id ) as $field ) {
			$fields[ (string) $field->id ] = $field;
		}
		$values = array();
		foreach ( (array) $entry->metas as $field_id => $value ) {
			$field          = isset( $fields[ (string) $field_id ] ) ? $fields[ (string) $field_id ] : null;
			$key            = $field && ! empty( $field->field_key ) ? $field->field_key : 'field_' . $field_id;
			$type           = $field ? $field->type : '';
			$labels[ $key ] = $field ? (string) $field->name : '';
			if ( 'file' === $type ) {
				foreach ( (array) $value as $attachment_id ) {
					$path = get_attached_file( (int) $attachment_id );
					if ( $path ) {
						$files[] = array(
							'field'    => $key,
							'filename' => wp_basename( $path ),
							'url'      => (string) wp_get_attachment_url( (int) $attachment_id ),
							'path'     => $path,
						);
					}
				}
				continue;
			}
			if ( in_array( $type, array( 'divider', 'form' ), true ) && is_array( $value ) ) {
				$rows = array();
				foreach ( $value as $child_id ) {
					$child = FrmEntry::getOne( (int) $child_id, true );
					if ( $child ) {
						$child_labels = array();
						$rows[]       = self::formidable_values( $child, $child->form_id, $child_labels, $files );
						$labels      += $child_labels;
					}
				}
				$values[ $key ] = $rows;
				continue;
			}
			$values[ $key ] = $value;
		}
		return $values;
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
	 * The payload has one shape for every form plugin: the plugin's stable keys, a multi-value
	 * field as a list, a name's parts as an object (first, middle, last); beside them, under
	 * _wordpress, the form, the entry id, the fields' labels and the visitor (IP, user agent,
	 * page URL).
	 *
	 * @param string      $plugin   The form plugin (cf7, wpforms...).
	 * @param string      $form     The plugin's form id.
	 * @param string      $title    The form's title.
	 * @param string|null $entry_id The plugin's entry id, when it keeps entries.
	 * @param array       $values   Key => value.
	 * @param array       $files    Uploaded files (field, filename, and path or url).
	 * @param array       $labels   Key => the field's label, where the plugin has labels.
	 * @param string      $page     The page the form was on, where the plugin knows it.
	 * @return int|null The queue row, or null if this entry was queued before.
	 */
	public static function capture( $plugin, $form, $title, $entry_id, array $values, array $files, array $labels = array(), $page = '' ) {
		$entry_key = null !== $entry_id && '' !== $entry_id ? "{$plugin}|{$form}|{$entry_id}" : null;
		if ( null !== $entry_key && isset( self::$captured_entries[ $entry_key ] ) ) {
			return null; // this request captured the entry already.
		}
		$form_id       = substr( $plugin . '-' . sanitize_key( $form ), 0, 128 );
		$submission_id = formbridge_uuid7();
		$envelope      = array(
			'submission_id' => $submission_id,
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
						'labels'     => (object) array_filter( $labels, 'strlen' ),
						'visitor'    => self::visitor( $page ),
					),
				)
			),
			'attachments'   => FormBridge_Files::keep( $submission_id, array_values( $files ) ),
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
	 * An uploaded file as an attachment (its public URL; its content too when it is in this
	 * site's uploads).
	 *
	 * @param string $field The field's key.
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
	 * A field's upload URLs (WPForms: one per line).
	 *
	 * @param mixed $value The field's value.
	 * @return string[]
	 */
	private static function upload_urls( $value ) {
		return array_filter( preg_split( '/\s+/', trim( (string) $value ) ) );
	}

	/**
	 * A name's parts as one object: first, middle, last (and prefix, suffix), empty ones left
	 * out, whatever the plugin called them (first_name, First...).
	 *
	 * @param array $parts The plugin's parts.
	 * @return array|string
	 */
	private static function name_parts( array $parts ) {
		$name = array();
		foreach ( array( 'prefix', 'first', 'middle', 'last', 'suffix' ) as $part ) {
			foreach ( array( $part, $part . '_name', ucfirst( $part ) ) as $spelling ) {
				if ( isset( $parts[ $spelling ] ) && '' !== trim( (string) $parts[ $spelling ] ) ) {
					$name[ $part ] = (string) $parts[ $spelling ];
					break;
				}
			}
		}
		return $name;
	}

	/**
	 * Who submitted: the visitor's IP (REMOTE_ADDR, or what the formbridge_visitor_ip filter
	 * makes of it behind a proxy), user agent and the page the form was on.
	 *
	 * @param string $page The page, when the form plugin knows it (else the referring page).
	 * @return array
	 */
	private static function visitor( $page ) {
		$ip      = isset( $_SERVER['REMOTE_ADDR'] ) ? sanitize_text_field( wp_unslash( $_SERVER['REMOTE_ADDR'] ) ) : '';
		$agent   = isset( $_SERVER['HTTP_USER_AGENT'] ) ? sanitize_text_field( wp_unslash( $_SERVER['HTTP_USER_AGENT'] ) ) : '';
		$referer = isset( $_SERVER['HTTP_REFERER'] ) ? esc_url_raw( wp_unslash( $_SERVER['HTTP_REFERER'] ) ) : '';
		/**
		 * Filters the visitor's IP (behind a reverse proxy, read the header it sets).
		 *
		 * @param string $ip REMOTE_ADDR.
		 */
		$ip = (string) apply_filters( 'formbridge_visitor_ip', $ip );
		return array(
			'ip'         => filter_var( $ip, FILTER_VALIDATE_IP ) ? $ip : null,
			'user_agent' => substr( $agent, 0, 512 ),
			'page_url'   => '' !== $page ? esc_url_raw( $page ) : $referer,
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
