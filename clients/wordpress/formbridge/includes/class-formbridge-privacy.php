<?php
/**
 * Personal data in the queue: WordPress's exporter and eraser (Tools → Export / Erase Personal
 * Data) find a person's leads still queued here by their e-mail address. A sent row holds no
 * personal data (only its id, hash and status): the lead is in FormBridge, whose own erase API
 * removes it there.
 *
 * @package FormBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The exporter and the eraser.
 */
class FormBridge_Privacy {

	const PER_PAGE = 50;

	/**
	 * Registers both with WordPress's privacy tools.
	 */
	public static function register() {
		add_filter( 'wp_privacy_personal_data_exporters', array( __CLASS__, 'add_exporter' ) );
		add_filter( 'wp_privacy_personal_data_erasers', array( __CLASS__, 'add_eraser' ) );
	}

	/**
	 * The exporter's entry.
	 *
	 * @param array $exporters The exporters.
	 * @return array
	 */
	public static function add_exporter( $exporters ) {
		$exporters['formbridge'] = array(
			'exporter_friendly_name' => __( 'FormBridge queue', 'formbridge' ),
			'callback'               => array( __CLASS__, 'export' ),
		);
		return $exporters;
	}

	/**
	 * The eraser's entry.
	 *
	 * @param array $erasers The erasers.
	 * @return array
	 */
	public static function add_eraser( $erasers ) {
		$erasers['formbridge'] = array(
			'eraser_friendly_name' => __( 'FormBridge queue', 'formbridge' ),
			'callback'             => array( __CLASS__, 'erase' ),
		);
		return $erasers;
	}

	/**
	 * The queued leads (waiting or parked) that hold this address as a value.
	 *
	 * @param string $email The address.
	 * @param int    $page  1-based.
	 * @return array[] Rows with a decoded 'lead'.
	 */
	private static function rows( $email, $page ) {
		global $wpdb;
		$email = strtolower( trim( (string) $email ) );
		if ( '' === $email ) {
			return array();
		}
		// The envelope is JSON: the address appears in it as a JSON string ("/" escaped).
		$needle = '%' . $wpdb->esc_like( trim( wp_json_encode( $email ), '"' ) ) . '%';
		$rows   = $wpdb->get_results(
			$wpdb->prepare(
				'SELECT id, submission_id, form_id, status, created_at, envelope FROM ' . FormBridge_Queue::table() . " WHERE envelope <> '' AND LOWER(envelope) LIKE %s ORDER BY id LIMIT %d OFFSET %d", // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
				$needle,
				self::PER_PAGE,
				self::PER_PAGE * ( max( 1, (int) $page ) - 1 )
			),
			ARRAY_A
		);
		$found  = array();
		foreach ( $rows as $row ) {
			$row['lead'] = json_decode( $row['envelope'], true );
			if ( self::holds( isset( $row['lead']['payload'] ) ? $row['lead']['payload'] : array(), $email ) ) {
				$found[] = $row;
			}
		}
		return $found;
	}

	/**
	 * Whether a value (or any value inside it) is this address.
	 *
	 * @param mixed  $value The value.
	 * @param string $email The address, lower case.
	 * @return bool
	 */
	private static function holds( $value, $email ) {
		if ( is_array( $value ) ) {
			foreach ( $value as $item ) {
				if ( self::holds( $item, $email ) ) {
					return true;
				}
			}
			return false;
		}
		return is_string( $value ) && strtolower( trim( $value ) ) === $email;
	}

	/**
	 * The exporter: each queued lead of this person, its fields and the visitor data.
	 *
	 * @param string $email The address.
	 * @param int    $page  1-based.
	 * @return array
	 */
	public static function export( $email, $page = 1 ) {
		$items = array();
		foreach ( self::rows( $email, $page ) as $row ) {
			$data = array(
				array(
					'name'  => __( 'Submission', 'formbridge' ),
					'value' => $row['submission_id'],
				),
				array(
					'name'  => __( 'Form', 'formbridge' ),
					'value' => $row['form_id'],
				),
				array(
					'name'  => __( 'Status', 'formbridge' ),
					'value' => $row['status'],
				),
				array(
					'name'  => __( 'Queued (UTC)', 'formbridge' ),
					'value' => $row['created_at'],
				),
			);
			foreach ( $row['lead']['payload'] as $key => $value ) {
				$data[] = array(
					'name'  => (string) $key,
					'value' => is_scalar( $value ) ? (string) $value : wp_json_encode( $value ),
				);
			}
			foreach ( isset( $row['lead']['attachments'] ) ? (array) $row['lead']['attachments'] : array() as $file ) {
				$data[] = array(
					'name'  => __( 'File', 'formbridge' ),
					'value' => isset( $file['filename'] ) ? $file['filename'] : '',
				);
			}
			$items[] = array(
				'group_id'    => 'formbridge',
				'group_label' => __( 'Form submissions waiting to be sent (FormBridge)', 'formbridge' ),
				'item_id'     => 'formbridge-' . $row['id'],
				'data'        => $data,
			);
		}
		return array(
			'data' => $items,
			'done' => count( $items ) < self::PER_PAGE,
		);
	}

	/**
	 * The eraser: this person's queued leads are deleted with their files (never sent).
	 *
	 * @param string $email The address.
	 * @param int    $page  1-based (always the first: what it erased is gone).
	 * @return array
	 */
	public static function erase( $email, $page = 1 ) {
		global $wpdb;
		$removed = 0;
		foreach ( self::rows( $email, 1 ) as $row ) {
			FormBridge_Files::forget( $row['envelope'] );
			$removed += (int) $wpdb->delete( FormBridge_Queue::table(), array( 'id' => (int) $row['id'] ) );
		}
		return array(
			'items_removed'  => $removed,
			'items_retained' => false,
			'messages'       => $removed ? array( __( 'Leads waiting to be sent to FormBridge were deleted; leads FormBridge already has are erased there (its erase API).', 'formbridge' ) ) : array(),
			'done'           => $removed < self::PER_PAGE,
		);
	}
}
