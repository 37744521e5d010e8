<?php
/**
 * Each form plugin's documented hook, fired with the arguments that plugin passes: the
 * submission is queued, sent signed to the live FormBridge, and FormBridge answers accepted.
 *
 * @package FormBridge
 */

class CaptureTest extends FormBridge_TestCase {

	public function test_contact_form_7() {
		WPCF7_Submission::$current = new WPCF7_Submission(
			array(
				'your-name'    => 'Jane Doe',
				'your-email'   => 'jane@example.com',
				'your-message' => 'A quote, please.',
				'_wpcf7'       => '42',
			),
			array( 'your-file' => array( '/tmp/wpcf7_uploads/cv.pdf' ) )
		);

		// Captured before CF7 sends its mail: a lead survives the site's mail failing.
		$abort = false;
		do_action_ref_array( 'wpcf7_before_send_mail', array( new WPCF7_ContactForm( 42, 'Contact form 1' ), &$abort, WPCF7_Submission::$current ) );
		do_action( 'wpcf7_mail_failed', new WPCF7_ContactForm( 42, 'Contact form 1' ) );
		$this->end_request();

		$row      = $this->only_row();
		$envelope = json_decode( $row['envelope'], true );
		$this->assertSame( 'cf7-42', $row['form_id'] );
		$this->assertSame( 'wordpress', $envelope['source'] );
		$this->assertArrayNotHasKey( '_wpcf7', $envelope['payload'] );
		$this->assertSame( 'http://wordpress.test', $envelope['payload']['_wordpress']['site_url'] );
		$this->assertSame( 'cv.pdf', $envelope['attachments'][0]['filename'] );
		$this->expect_delivered( $row, array( 'your-email' => 'jane@example.com', 'your-name' => 'Jane Doe' ) );
	}

	public function test_wpforms() {
		$fields = array(
			1 => array( 'name' => 'Name', 'value' => 'Jane Doe', 'id' => 1, 'type' => 'name' ),
			2 => array( 'name' => 'Email', 'value' => 'jane@example.com', 'id' => 2, 'type' => 'email' ),
			3 => array( 'name' => 'Resume', 'value' => 'http://wordpress.test/wp-content/uploads/wpforms/cv.pdf', 'id' => 3, 'type' => 'file-upload' ),
		);
		$form_data = array( 'id' => 7, 'settings' => array( 'form_title' => 'Simple Contact Form' ) );

		do_action( 'wpforms_process_complete', $fields, array(), $form_data, 311 );
		do_action( 'wpforms_process_complete', $fields, array(), $form_data, 311 ); // the hook again, same entry.
		$this->end_request();

		$row = $this->only_row();
		$this->assertMatchesRegularExpression( '/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/', $row['submission_id'] );
		$envelope = json_decode( $row['envelope'], true );
		$this->assertSame( '311', $envelope['payload']['_wordpress']['entry_id'] );
		$this->assertSame( 'http://wordpress.test/wp-content/uploads/wpforms/cv.pdf', $envelope['attachments'][0]['url'] );
		$this->expect_delivered( $row, array( 'Email' => 'jane@example.com', 'Name' => 'Jane Doe' ) );
	}

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

		do_action( 'gform_after_submission', array_merge( $entry, array( 'id' => '1043', 'status' => 'spam' ) ), $form );
		do_action( 'gform_after_submission', $entry, $form );
		$this->end_request();

		$row      = $this->only_row(); // the spam entry was never queued.
		$envelope = json_decode( $row['envelope'], true );
		$this->assertSame( array( 'First' => 'Jane', 'Last' => 'Doe' ), $envelope['payload']['Name'] );
		$this->assertSame( 'a.png', $envelope['attachments'][0]['filename'] );
		$this->expect_delivered( $row, array( 'Email' => 'jane@example.com' ) );
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
		$this->assertArrayNotHasKey( 'submit', json_decode( $row['envelope'], true )['payload'] );
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
		$this->expect_delivered( $row, array( 'Email' => 'jane@example.com', 'Name' => 'Jane Doe' ) );
	}

	public function test_a_cf7_submission_another_plugin_aborted_is_not_a_lead() {
		WPCF7_Submission::$current = new WPCF7_Submission( array( 'your-email' => 'spam@example.com' ), array() );
		$abort = true;
		do_action_ref_array( 'wpcf7_before_send_mail', array( new WPCF7_ContactForm( 42, 'Contact form 1' ), &$abort, WPCF7_Submission::$current ) );
		$this->end_request();

		$this->assertCount( 0, $this->rows() );
	}

	public function test_a_reused_entry_id_is_a_new_lead() {
		$form = (object) array( 'id' => 9, 'title' => 'Contact Form Demo' );
		do_action( 'fluentform/submission_inserted', 1, array( 'email' => 'first@example.com' ), $form );
		$this->end_request();
		// The plugin's entries table was emptied (a reinstall, a staging copy): id 1 again.
		do_action( 'fluentform/submission_inserted', 1, array( 'email' => 'second@example.com' ), $form );
		$this->end_request();

		$rows = $this->rows();
		$this->assertCount( 2, $rows );
		$this->assertNotSame( $rows[0]['submission_id'], $rows[1]['submission_id'] );
		foreach ( $rows as $n => $row ) {
			$this->expect_delivered( $row, array( 'email' => ( 0 === $n ? 'first' : 'second' ) . '@example.com' ) );
		}
	}

	public function test_fluent_forms() {
		$form = (object) array( 'id' => 9, 'title' => 'Contact Form Demo' );
		do_action(
			'fluentform/submission_inserted',
			501,
			array(
				'email'                     => 'jane@example.com',
				'message'                   => 'Hello',
				'_fluentform_9_fluentformnonce' => 'abc',
				'files'                     => array( 'http://wordpress.test/wp-content/uploads/fluentform/x.pdf' ),
			),
			$form
		);
		$this->end_request();

		$row      = $this->only_row();
		$envelope = json_decode( $row['envelope'], true );
		$this->assertArrayNotHasKey( '_fluentform_9_fluentformnonce', $envelope['payload'] );
		$this->assertSame( 'x.pdf', $envelope['attachments'][0]['filename'] );
		$this->expect_delivered( $row, array( 'email' => 'jane@example.com' ) );
	}

	public function test_formidable() {
		FrmField::$fields[4]  = array(
			(object) array( 'id' => 20, 'field_key' => 'email', 'name' => 'Email', 'type' => 'email' ),
			(object) array( 'id' => 21, 'field_key' => 'msg', 'name' => 'Message', 'type' => 'textarea' ),
		);
		FrmEntry::$entries[77] = (object) array(
			'id'        => 77,
			'form_id'   => 4,
			'form_name' => 'Contact Us',
			'metas'     => array( 20 => 'jane@example.com', 21 => 'Hello' ),
		);

		do_action( 'frm_after_create_entry', 77, 4 );
		$this->end_request();

		$this->expect_delivered( $this->only_row(), array( 'email' => 'jane@example.com', 'msg' => 'Hello' ) );
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
		$this->assertArrayNotHasKey( 'user_pass', json_decode( $rows[1]['envelope'], true )['payload'] );
		$this->expect_delivered( $rows[0], array( 'email' => 'jane@example.com', 'comment' => 'Nice post' ) );
		$this->expect_delivered( $rows[1], array() );
		update_option( 'formbridge_capture_comments', false );
		update_option( 'formbridge_capture_registrations', false );
	}
}
