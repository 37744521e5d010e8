<?php
/**
 * What every test shares: a clean queue, sending what a request queued, and the list of
 * submissions the Python side then looks for in FormBridge.
 *
 * @package FormBridge
 */

use PHPUnit\Framework\TestCase;

abstract class FormBridge_TestCase extends TestCase {

	/** Submissions FormBridge must hold once each: submission_id => form_id and fields. */
	public static $expected = array();

	/** The envelopes captured during the test, by submission_id (a sent row keeps none). */
	protected $envelopes = array();

	protected function setUp(): void {
		global $wpdb;
		$this->envelopes = array();
		add_filter( 'formbridge_envelope', array( $this, 'keep_envelope' ), PHP_INT_MAX );
		$wpdb->query( 'DELETE FROM ' . FormBridge_Queue::table() ); // phpcs:ignore
		update_option( 'formbridge_endpoint', getenv( 'FORMBRIDGE_URL' ) );
	}

	protected function tearDown(): void {
		remove_filter( 'formbridge_envelope', array( $this, 'keep_envelope' ), PHP_INT_MAX );
	}

	/** The formbridge_envelope filter, at its end: what was queued. */
	public function keep_envelope( $envelope ) {
		$this->envelopes[ $envelope['submission_id'] ] = $envelope;
		return $envelope;
	}

	/** A row's envelope as it was queued. */
	protected function envelope( array $row ) {
		return $this->envelopes[ $row['submission_id'] ];
	}

	public static function tearDownAfterClass(): void {
		$file = getenv( 'FORMBRIDGE_EXPECTATIONS' );
		$all  = file_exists( $file ) ? json_decode( file_get_contents( $file ), true ) : array();
		file_put_contents( $file, wp_json_encode( array_merge( $all, self::$expected ) ) );
	}

	/** The end of the visitor's request, then the send it starts (the loopback request's work;
	 * PHPUnit has no server to take a loopback: tests/clients/test_wordpress_real_plugins.py
	 * runs the real one). */
	protected function end_request() {
		add_filter( 'formbridge_spawn_loopback', '__return_false' );
		FormBridge_Capture::send_queued();
		remove_filter( 'formbridge_spawn_loopback', '__return_false' );
		FormBridge_Sender::flush( 50 );
	}

	/** The queue's rows, oldest first. */
	protected function rows() {
		global $wpdb;
		return $wpdb->get_results( 'SELECT * FROM ' . FormBridge_Queue::table() . ' ORDER BY id', ARRAY_A ); // phpcs:ignore
	}

	/** The one row of the queue. */
	protected function only_row() {
		$rows = $this->rows();
		$this->assertCount( 1, $rows );
		return $rows[0];
	}

	/** Time passes: every waiting row is due now. */
	protected function make_due() {
		global $wpdb;
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . FormBridge_Queue::table() . ' SET next_attempt_at = %s WHERE status = %s', gmdate( 'Y-m-d H:i:s', time() - 1 ), 'pending' ) ); // phpcs:ignore
	}

	/** Asks the proxy in front of FormBridge to answer the next ingest itself. */
	protected function script_answer( $status, array $headers = array(), array $body = array() ) {
		$response = wp_remote_post(
			getenv( 'FORMBRIDGE_URL' ) . '/__fault',
			array(
				'headers' => array( 'Content-Type' => 'application/json' ),
				'body'    => wp_json_encode(
					array(
						'status'  => $status,
						'headers' => (object) $headers,
						'body'    => (object) $body,
						'path'    => '/v1/ingest',
					)
				),
			)
		);
		$this->assertSame( 204, wp_remote_retrieve_response_code( $response ) );
	}

	/** Records that FormBridge must hold this row's submission, once. */
	protected function expect_delivered( array $row, array $fields ) {
		$this->assertSame( 'sent', $row['status'], (string) $row['last_error'] );
		$this->assertSame( '', $row['envelope'] ); // sent: the lead's data left this table.
		$this->assertSame( hash( 'sha256', wp_json_encode( $this->envelope( $row ) ) ), $row['envelope_sha256'] );
		$envelope = $this->envelope( $row );
		self::$expected[ $row['submission_id'] ] = array(
			'form_id' => $row['form_id'],
			'fields'  => $fields,
			'files'   => $envelope['attachments'],
		);
	}
}
