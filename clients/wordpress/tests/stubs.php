<?php
/**
 * Small stand-ins for the form plugins' classes, with the methods and shapes their public
 * documentation gives (only what the hooks' listeners read).
 *
 * @package FormBridge
 */

// phpcs:disable Generic.Files.OneObjectStructurePerFile.MultipleFound

/** Contact Form 7's form (WPCF7_ContactForm): id() and title(). */
class WPCF7_ContactForm {
	private $id;
	private $title;

	public function __construct( $id, $title ) {
		$this->id    = $id;
		$this->title = $title;
	}

	public function id() {
		return $this->id;
	}

	public function title() {
		return $this->title;
	}
}

/** Contact Form 7's current submission (WPCF7_Submission::get_instance()). */
class WPCF7_Submission {
	public static $current;
	private $posted;
	private $files;

	public function __construct( array $posted, array $files ) {
		$this->posted = $posted;
		$this->files  = $files;
	}

	public static function get_instance() {
		return self::$current;
	}

	public function get_posted_data( $name = '' ) {
		return '' === $name ? $this->posted : ( isset( $this->posted[ $name ] ) ? $this->posted[ $name ] : null );
	}

	public function uploaded_files() {
		return $this->files;
	}
}

/** Elementor Pro's Form_Record: get( 'fields' | 'form_settings' ). */
class FormBridge_Test_Elementor_Record {
	private $data;

	public function __construct( array $data ) {
		$this->data = $data;
	}

	public function get( $property ) {
		return isset( $this->data[ $property ] ) ? $this->data[ $property ] : null;
	}
}

/** Formidable's FrmEntry::getOne( $id, true ): the entry with metas keyed by field id. */
class FrmEntry {
	public static $entries = array();

	public static function getOne( $id, $meta = false ) {
		return isset( self::$entries[ $id ] ) ? self::$entries[ $id ] : null;
	}
}

/** Formidable's FrmField::get_all_for_form( $form_id ): field objects (id, field_key, name, type). */
class FrmField {
	public static $fields = array();

	public static function get_all_for_form( $form_id ) {
		return isset( self::$fields[ $form_id ] ) ? self::$fields[ $form_id ] : array();
	}
}
