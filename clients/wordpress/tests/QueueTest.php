<?php
/**
 * Never losing a lead: an outage, a 429 with Retry-After, a 400 parked, pruning, the secret's
 * storage, and uninstall.
 *
 * @package FormBridge
 */

class QueueTest extends FormBridge_TestCase {

	private function submit_wpforms( $entry_id, $email ) {
		do_action(
			'wpforms_process_complete',
			array( 1 => array( 'name' => 'Email', 'value' => $email, 'id' => 1, 'type' => 'email' ) ),
			array(),
			array( 'id' => 12, 'settings' => array( 'form_title' => 'Outage form' ) ),
			$entry_id
		);
	}

	public function test_an_outage_queues_locally_and_a_cron_run_delivers_each_once() {
		update_option( 'formbridge_endpoint', getenv( 'FORMBRIDGE_DOWN_URL' ) ); // FormBridge stopped.
		for ( $n = 1; $n <= 20; $n++ ) {
			$this->submit_wpforms( 9000 + $n, "lead{$n}@example.com" );
			$this->end_request(); // each visitor's request tries once, fails fast, moves on.
		}
		$rows = $this->rows();
		$this->assertCount( 20, $rows );
		$this->assertSame( array( 'pending' ), array_values( array_unique( array_column( $rows, 'status' ) ) ) );
		$this->assertSame( array( '1' ), array_values( array_unique( array_column( $rows, 'attempts' ) ) ) );
		$this->assertGreaterThan( gmdate( 'Y-m-d H:i:s' ), $rows[0]['next_attempt_at'] ); // backing off.

		update_option( 'formbridge_endpoint', getenv( 'FORMBRIDGE_URL' ) ); // FormBridge is back.
		do_action( FormBridge_Scheduler::FLUSH ); // not yet due: nothing is sent early.
		$this->assertSame( 20, FormBridge_Queue::counts()['pending'] );
		$this->make_due();
		do_action( FormBridge_Scheduler::FLUSH ); // the cron run.
		do_action( FormBridge_Scheduler::FLUSH ); // and the next one finds nothing to send.

		$this->assertSame( array( 'pending' => 0, 'sent' => 20, 'parked' => 0 ), FormBridge_Queue::counts() );
		foreach ( $this->rows() as $row ) {
			$this->assertSame( '2', $row['attempts'] );
			$this->expect_delivered( $row, array( 'field_1' => $this->envelope( $row )['payload']['field_1'] ) );
		}
		file_put_contents( getenv( 'FORMBRIDGE_LEDGER' ), wp_json_encode( array( 'queued' => count( $rows ), 'sent' => FormBridge_Queue::counts()['sent'] ) ) );
	}

	public function test_a_429_waits_for_its_retry_after() {
		$this->script_answer( 429, array( 'Retry-After' => '120' ), array( 'error' => array( 'code' => 'rate_limited', 'message' => 'Slow down' ) ) );

		$this->submit_wpforms( 7001, 'slow@example.com' );
		$this->end_request();

		$row = $this->only_row();
		$this->assertSame( 'pending', $row['status'] );
		$this->assertSame( '429', $row['last_status'] );
		$this->assertStringStartsWith( 'rate_limited', $row['last_error'] );
		$wait = strtotime( $row['next_attempt_at'] . ' UTC' ) - time();
		$this->assertGreaterThanOrEqual( 115, $wait );
		$this->make_due();
		do_action( FormBridge_Scheduler::FLUSH );
		$this->expect_delivered( $this->only_row(), array( 'field_1' => 'slow@example.com' ) );
	}

	public function test_a_400_is_parked_with_its_error_and_retry_sends_it() {
		$this->script_answer( 400, array(), array( 'error' => array( 'code' => 'invalid_payload', 'message' => 'No.' ) ) );

		$this->submit_wpforms( 7002, 'parked@example.com' );
		$this->end_request();

		$row = $this->only_row();
		$this->assertSame( 'parked', $row['status'] );
		$this->assertSame( 'invalid_payload: No.', $row['last_error'] );
		do_action( FormBridge_Scheduler::FLUSH ); // the cron leaves parked rows alone.
		$this->assertSame( 'parked', $this->only_row()['status'] );
		FormBridge_Queue::retry_now( array( $row['id'] ) ); // the admin's Retry.
		FormBridge_Sender::flush( 10, array( (int) $row['id'] ) );
		$this->expect_delivered( $this->only_row(), array( 'field_1' => 'parked@example.com' ) );
	}

	public function test_parked_leads_are_announced_a_week_ahead_then_expire_with_their_files() {
		global $wpdb;
		$this->script_answer( 400, array(), array( 'error' => array( 'code' => 'invalid_payload', 'message' => 'No.' ) ) );
		$this->submit_wpforms( 7004, 'expiring@example.com' );
		$this->end_request();
		$row = $this->only_row();
		$this->assertSame( 'parked', $row['status'] );
		$age = static function ( $days ) use ( $wpdb, $row ) {
			$wpdb->update( FormBridge_Queue::table(), array( 'created_at' => gmdate( 'Y-m-d H:i:s', time() - $days * DAY_IN_SECONDS ) ), array( 'id' => $row['id'] ) );
		};
		wp_set_current_user( 1 );

		$age( 20 ); // ten days left: parked, not yet expiring.
		$this->assertStringNotContainsString( 'will be deleted', $this->notice() );
		$age( 25 ); // five days left: the owner is told when.
		$this->assertStringContainsString( '1 parked lead(s) will be deleted from ' . gmdate( 'Y-m-d', time() + 5 * DAY_IN_SECONDS ), $this->notice() );
		do_action( FormBridge_Scheduler::PRUNE );
		$this->assertCount( 1, $this->rows() ); // not before its time.

		$age( 31 );
		do_action( FormBridge_Scheduler::PRUNE );
		$this->assertSame( array(), $this->rows() );
	}

	public function test_the_privacy_tools_export_and_erase_a_persons_queued_leads() {
		update_option( 'formbridge_endpoint', getenv( 'FORMBRIDGE_DOWN_URL' ) ); // still queued.
		$this->submit_wpforms( 7005, 'Jane@Example.com' );
		$this->submit_wpforms( 7006, 'someone-else@example.com' );
		$this->end_request();
		$exporters = apply_filters( 'wp_privacy_personal_data_exporters', array() );
		$erasers   = apply_filters( 'wp_privacy_personal_data_erasers', array() );

		$export = call_user_func( $exporters['formbridge']['callback'], 'jane@example.com', 1 );

		$this->assertTrue( $export['done'] );
		$this->assertCount( 1, $export['data'] );
		$values = array_column( $export['data'][0]['data'], 'value', 'name' );
		$this->assertSame( 'Jane@Example.com', $values['field_1'] );
		$this->assertSame( 'pending', $values['Status'] );

		$erased = call_user_func( $erasers['formbridge']['callback'], 'jane@example.com', 1 );

		$this->assertSame( 1, $erased['items_removed'] );
		$left = $this->rows();
		$this->assertCount( 1, $left );
		$this->assertStringContainsString( 'someone-else@example.com', $left[0]['envelope'] );
		$this->assertSame( array(), call_user_func( $exporters['formbridge']['callback'], 'jane@example.com', 1 )['data'] );
	}

	/** The admin notice as the dashboard prints it. */
	private function notice() {
		ob_start();
		FormBridge_Admin::notice();
		return (string) ob_get_clean();
	}

	public function test_old_sent_rows_are_pruned() {
		global $wpdb;
		$this->submit_wpforms( 7003, 'old@example.com' );
		$this->end_request();
		$row = $this->only_row();
		$this->expect_delivered( $row, array( 'field_1' => 'old@example.com' ) );
		$wpdb->update( FormBridge_Queue::table(), array( 'sent_at' => gmdate( 'Y-m-d H:i:s', time() - 40 * DAY_IN_SECONDS ) ), array( 'id' => $row['id'] ) );

		do_action( FormBridge_Scheduler::PRUNE );

		$this->assertSame( array(), $this->rows() );
	}

	public function test_the_secret_is_not_autoloaded_and_never_printed() {
		global $wpdb;
		$autoload = $wpdb->get_var( $wpdb->prepare( "SELECT autoload FROM {$wpdb->options} WHERE option_name = %s", FormBridge_Settings::SECRET ) );
		$this->assertSame( 'no', $autoload );
		ob_start();
		FormBridge_Settings::render_field( array( 'name' => 'formbridge_secret_input', 'type' => 'password', 'help' => '' ) );
		$html = ob_get_clean();
		$this->assertStringNotContainsString( getenv( 'FORMBRIDGE_SECRET' ), $html );
		$this->assertStringContainsString( 'value=""', $html );
		// An empty submit keeps the stored secret; a new one replaces it.
		$this->assertSame( '', FormBridge_Settings::sanitize_secret( '' ) );
		$this->assertSame( getenv( 'FORMBRIDGE_SECRET' ), FormBridge_Settings::secret() );
	}

	public function test_the_timeout_shows_and_saves_five_seconds_on_a_fresh_install() {
		delete_option( 'formbridge_timeout' );
		ob_start();
		FormBridge_Settings::render_field( array( 'name' => 'formbridge_timeout', 'type' => 'number', 'help' => '' ) );
		$html = ob_get_clean();

		$this->assertStringContainsString( 'value="5"', $html ); // it showed empty, and saved 1 s.
		$this->assertSame( 5, FormBridge_Settings::sanitize_timeout( '' ) );
		$this->assertSame( 60, FormBridge_Settings::sanitize_timeout( '600' ) );
		$this->assertSame( 5, FormBridge_Settings::timeout() );
	}

	public function test_test_connection_asks_formbridge_and_stores_no_lead() {
		$said = FormBridge_Admin::connection_check();

		$this->assertStringStartsWith( 'Connected: FormBridge accepts this site as tenant t_acme.', $said );
		update_option( FormBridge_Settings::SECRET, 'fbs_' . str_repeat( 'x', 43 ), false );
		$refused = FormBridge_Admin::connection_check();
		update_option( FormBridge_Settings::SECRET, getenv( 'FORMBRIDGE_SECRET' ), false );
		$this->assertStringContainsString( '(401): invalid_signature', $refused );
		$this->assertCount( 0, $this->rows() );
	}

	public function test_a_wrong_secret_parks_says_so_and_its_correction_sends_the_lead() {
		update_option( FormBridge_Settings::SECRET, 'fbs_' . str_repeat( 'w', 43 ), false );
		$this->submit_wpforms( 6001, 'parked@example.com' );
		$this->end_request();
		$this->assertSame( 'parked', $this->only_row()['status'] );

		wp_set_current_user( 1 );
		ob_start();
		do_action( 'admin_notices' );
		$notice = ob_get_clean();
		wp_set_current_user( 0 );
		$this->assertStringContainsString( '1 lead(s) parked', $notice );
		$this->assertStringContainsString( 'invalid_signature', $notice );
		$this->assertStringContainsString( 'tools.php?page=formbridge', $notice );

		update_option( FormBridge_Settings::SECRET, getenv( 'FORMBRIDGE_SECRET' ), false ); // corrected.
		$this->assertSame( 'pending', $this->only_row()['status'] );
		do_action( FormBridge_Scheduler::FLUSH ); // WP-Cron's next run: no Retry button needed.

		$row = $this->only_row();
		$this->expect_delivered( $row, array( 'field_1' => 'parked@example.com' ) );
	}

	public function test_a_skewed_clock_is_corrected_from_formbridges_answer() {
		update_option( 'formbridge_clock_offset', -3600, false ); // as if this server were an hour slow.
		$this->submit_wpforms( 6101, 'skewed@example.com' );
		$this->end_request();
		// Refused as stale with FormBridge's time, signed again at once with the learned offset:
		// one attempt, accepted.
		$row = $this->only_row();
		$this->assertLessThan( 5, abs( FormBridge_Settings::clock_offset() ) );
		$this->assertSame( '1', $row['attempts'] );
		$this->expect_delivered( $row, array( 'field_1' => 'skewed@example.com' ) );
		delete_option( 'formbridge_clock_offset' );
	}

	public function test_the_admin_actions_need_the_capability_and_a_nonce() {
		wp_set_current_user( 0 );
		try {
			FormBridge_Admin::handle_retry();
			$this->fail( 'a visitor ran the retry' );
		} catch ( WPDieException $refused ) {
			$this->assertSame( 403, $refused->getCode() );
		}
	}

	public function test_an_administrator_still_needs_the_nonce() {
		wp_set_current_user( 1 );
		try {
			FormBridge_Admin::handle_retry();
			$this->fail( 'the retry ran without its nonce' );
		} catch ( WPDieException $refused ) {
			$this->assertSame( 403, $refused->getCode() );
		} finally {
			wp_set_current_user( 0 );
		}
	}

	public function test_the_status_page_lists_the_queue_without_the_secret() {
		update_option( 'formbridge_endpoint', getenv( 'FORMBRIDGE_DOWN_URL' ) );
		$this->submit_wpforms( 7004, 'waiting@example.com' );
		$this->end_request();
		require_once ABSPATH . 'wp-admin/includes/template.php'; // loaded on every admin page.
		wp_set_current_user( 1 );
		ob_start();
		FormBridge_Admin::render_page();
		$html = ob_get_clean();
		wp_set_current_user( 0 );

		$this->assertStringContainsString( 'Pending: 1 · Sent: 0 · Parked: 0', $html );
		$this->assertStringContainsString( $this->only_row()['submission_id'], $html );
		$this->assertStringContainsString( 'name="_wpnonce"', $html );
		$this->assertStringNotContainsString( getenv( 'FORMBRIDGE_SECRET' ), $html );
	}

	public function test_uninstall_keeps_undelivered_leads_and_removes_the_rest() {
		global $wpdb;
		update_option( 'formbridge_endpoint', getenv( 'FORMBRIDGE_DOWN_URL' ) ); // FormBridge down.
		$this->submit_wpforms( 5001, 'pending@example.com' );
		$this->end_request();
		define( 'WP_UNINSTALL_PLUGIN', 'formbridge/formbridge.php' );
		include WP_PLUGIN_DIR . '/formbridge/uninstall.php';

		// The pending lead and what can send it stay (the plugin reinstalled sends it).
		$this->assertSame( 1, FormBridge_Queue::counts()['pending'] );
		$this->assertSame( getenv( 'FORMBRIDGE_SECRET' ), FormBridge_Settings::secret() );
		$this->assertFalse( wp_next_scheduled( FormBridge_Scheduler::FLUSH ) );

		// Nothing undelivered (or the owner opted in): everything goes.
		$wpdb->query( 'DELETE FROM ' . FormBridge_Queue::table() ); // phpcs:ignore
		$this->assertSame( 0, formbridge_uninstall_site() );
		$this->assertNull( $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', FormBridge_Queue::table() ) ) );
		$this->assertFalse( get_option( 'formbridge_secret' ) );
		FormBridge_Queue::install(); // for the tests after this one.
		FormBridge_Settings::set_secret( getenv( 'FORMBRIDGE_SECRET' ) );
		update_option( 'formbridge_endpoint', getenv( 'FORMBRIDGE_URL' ) );
	}
}
