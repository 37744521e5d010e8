<?php
/**
 * What the real form plugins (tests/clients/test_wordpress_real_plugins.py) cannot show: the
 * commercial plugins' hooks (Gravity Forms, Elementor Pro; Ninja Forms, whose releases do not load
 * on PHP 8.2), fired with the arguments their developer documentation gives, CF7's abort, and
 * Formidable Pro's repeater. Each lead is queued, sent signed to the live FormBridge and accepted.
 *
 * @package FormBridge
 */

class CaptureTest extends FormBridge_TestCase {

	public function test_gravity_forms_and_its_spam() {
		$form  = array(
			'id'     => 3,
			'title'  => 'Quote request',
			'fields' => array(
				(object) array( 'id' => 1, 'label' => 'Email', 'type' => 'email' ),
				(object) array(
					'id'     => 2,
					'label'  => 'Name',
					'type'   => 'name',
					'inputs' => array( array( 'id' => '2.3', 'label' => 'First' ), array( 'id' => '2.6', 'label' => 'Last' ) ),
				),
				(object) array( 'id' => 4, 'label' => 'Files', 'type' => 'fileupload' ),
			),
		);
		$entry = array(
			'id'      => '1042',
			'form_id' => '3',
			'status'  => 'active',
			'1'       => 'jane@example.com',
			'2.3'     => 'Jane',
			'2.6'     => 'Doe',
			'4'       => '["http://wordpress.test/wp-content/uploads/gravity_forms/a.png"]',
		);

		// The upload is in this site's uploads (as Gravity Forms keeps it): its content is sent.
		$uploads = wp_upload_dir();
		wp_mkdir_p( $uploads['basedir'] . '/gravity_forms' );
		file_put_contents( $uploads['basedir'] . '/gravity_forms/a.png', "\x89PNG\r\n\x1a\n" . str_repeat( "\0", 64 ) );
		$entry['4'] = wp_json_encode( array( $uploads['baseurl'] . '/gravity_forms/a.png' ) );

		do_action( 'gform_after_submission', array_merge( $entry, array( 'id' => '1043', 'status' => 'spam' ) ), $form );
		do_action( 'gform_after_submission', $entry, $form );
		$this->end_request();

		$row      = $this->only_row(); // the spam entry was never queued.
		$envelope = $this->envelope( $row );
		$this->assertSame( array( 'first' => 'Jane', 'last' => 'Doe' ), $envelope['payload']['field_2'] );
		$this->assertSame( 'Name', ( (array) $envelope['payload']['_wordpress']['labels'] )['field_2'] );
		$this->assertSame( 'a.png', $envelope['attachments'][0]['filename'] );
		$this->assertFileDoesNotExist( $envelope['attachments'][0]['spool'] ); // sent, then deleted.
		$this->expect_delivered( $row, array( 'field_1' => 'jane@example.com' ) );
	}

	public function test_ninja_forms() {
		do_action(
			'ninja_forms_after_submission',
			array(
				'form_id'  => 2,
				'settings' => array( 'title' => 'Contact Me' ),
				'fields'   => array(
					array( 'id' => 5, 'key' => 'email', 'label' => 'Email', 'type' => 'email', 'value' => 'jane@example.com' ),
					array( 'id' => 6, 'key' => 'message', 'label' => 'Message', 'type' => 'textarea', 'value' => 'Hello' ),
					array( 'id' => 7, 'key' => 'submit', 'label' => 'Submit', 'type' => 'submit', 'value' => '' ),
				),
				'actions'  => array( 'save' => array( 'sub_id' => 88 ) ),
			)
		);
		$this->end_request();

		$row = $this->only_row();
		$this->assertArrayNotHasKey( 'submit', $this->envelope( $row )['payload'] );
		$this->expect_delivered( $row, array( 'email' => 'jane@example.com', 'message' => 'Hello' ) );
	}

	public function test_elementor_pro() {
		$record = new FormBridge_Test_Elementor_Record(
			array(
				'fields'        => array(
					'name'  => array( 'id' => 'name', 'type' => 'text', 'title' => 'Name', 'value' => 'Jane Doe', 'raw_value' => 'Jane Doe' ),
					'email' => array( 'id' => 'email', 'type' => 'email', 'title' => 'Email', 'value' => 'jane@example.com', 'raw_value' => 'jane@example.com' ),
				),
				'form_settings' => array( 'id' => 'a1b2c3d', 'form_name' => 'New Form' ),
			)
		);

		do_action( 'elementor_pro/forms/new_record', $record, null );
		$this->end_request();

		$row = $this->only_row();
		$this->assertSame( 'elementor-a1b2c3d', $row['form_id'] );
		$this->expect_delivered( $row, array( 'email' => 'jane@example.com', 'name' => 'Jane Doe' ) );
	}

	public function test_a_cf7_submission_another_plugin_aborted_is_not_a_lead() {
		WPCF7_Submission::$current = new WPCF7_Submission( array( 'your-email' => 'spam@example.com' ), array() );
		$abort = true;
		do_action_ref_array( 'wpcf7_before_send_mail', array( new WPCF7_ContactForm( 42, 'Contact form 1' ), &$abort, WPCF7_Submission::$current ) );
		$this->end_request();

		$this->assertCount( 0, $this->rows() );
	}

	public function test_a_formidable_repeater_travels_inside_its_parent() {
		// Formidable Pro's repeater (Lite, run for real in test_wordpress_real_plugins.py, has
		// none): each row is a child entry with parent_item_id, and frm_after_create_entry fires
		// for it too; the parent's repeater field holds the children's ids.
		FrmField::$fields[4]   = array(
			(object) array( 'id' => 20, 'field_key' => 'email', 'name' => 'Email', 'type' => 'email' ),
			(object) array( 'id' => 22, 'field_key' => 'guests', 'name' => 'Guests', 'type' => 'divider' ),
		);
		FrmField::$fields[5]   = array( (object) array( 'id' => 30, 'field_key' => 'guest', 'name' => 'Guest', 'type' => 'text' ) );
		FrmEntry::$entries[78] = (object) array( 'id' => 78, 'form_id' => 5, 'parent_item_id' => 77, 'metas' => array( 30 => 'Ann' ) );
		FrmEntry::$entries[79] = (object) array( 'id' => 79, 'form_id' => 5, 'parent_item_id' => 77, 'metas' => array( 30 => 'Bob' ) );
		FrmEntry::$entries[77] = (object) array(
			'id'             => 77,
			'form_id'        => 4,
			'form_name'      => 'RSVP',
			'parent_item_id' => 0,
			'metas'          => array( 20 => 'jane@example.com', 22 => array( 78, 79 ) ),
		);

		do_action( 'frm_after_create_entry', 78, 5 ); // the rows first, as Formidable saves them.
		do_action( 'frm_after_create_entry', 79, 5 );
		do_action( 'frm_after_create_entry', 77, 4 );
		$this->end_request();

		$row = $this->only_row();
		$this->assertSame( array( array( 'guest' => 'Ann' ), array( 'guest' => 'Bob' ) ), $this->envelope( $row )['payload']['guests'] );
		$this->assertSame( 'Guest', ( (array) $this->envelope( $row )['payload']['_wordpress']['labels'] )['guest'] );
		$this->expect_delivered( $row, array( 'email' => 'jane@example.com' ) );
	}

	public function test_comments_and_registrations_when_enabled() {
		update_option( 'formbridge_capture_comments', true );
		update_option( 'formbridge_capture_registrations', true );
		FormBridge_Capture::register(); // the next request's hooks, with the options on.

		$post_id = wp_insert_post( array( 'post_title' => 'Hello', 'post_status' => 'publish' ) );
		wp_new_comment(
			array(
				'comment_post_ID'      => $post_id,
				'comment_author'       => 'Jane',
				'comment_author_email' => 'jane@example.com',
				'comment_author_url'   => '',
				'comment_content'      => 'Nice post',
				'comment_type'         => 'comment',
			)
		);
		wp_insert_user( array( 'user_login' => 'jane' . wp_rand(), 'user_email' => 'jane' . wp_rand() . '@example.com', 'user_pass' => wp_generate_password() ) );
		$this->end_request();

		$rows = $this->rows();
		$this->assertSame( array( 'comments-comment', 'registrations-user_register' ), array_column( $rows, 'form_id' ) );
		$this->assertArrayNotHasKey( 'user_pass', $this->envelope( $rows[1] )['payload'] );
		$this->expect_delivered( $rows[0], array( 'email' => 'jane@example.com', 'comment' => 'Nice post' ) );
		$this->expect_delivered( $rows[1], array() );
		update_option( 'formbridge_capture_comments', false );
		update_option( 'formbridge_capture_registrations', false );
	}
}
