<?php
/**
 * Makes one contact form per active form plugin, each on its own page, through each plugin's own
 * API, as the installed site loads them (a normal request after install-site.php). Prints
 * {"cf7": {"form": "12", "page": 13}, ...} as JSON.
 *
 * @package FormBridge
 */

require __DIR__ . '/cli-load.php';
wp_set_current_user( 1 );

$formbridge_forms = array();

if ( class_exists( 'WPCF7_ContactForm' ) ) {
	$formbridge_form = WPCF7_ContactForm::get_template( array( 'title' => 'Contact (CF7)' ) );
	$formbridge_form->set_properties(
		array(
			'form' => "<label>Your name [text* your-name]</label>\n<label>Your email [email* your-email]</label>\n"
				. "[checkbox interests \"Pricing\" \"Support\" \"Partnership\"]\n<label>Message [textarea your-message]</label>\n"
				. "<label>Your CV [file your-file limit:1mb filetypes:pdf|txt]</label>\n"
				. '[submit "Send"]',
		)
	);
	$formbridge_forms['cf7'] = array( 'form' => (string) $formbridge_form->save() );
	$formbridge_forms['cf7']['shortcode'] = sprintf( '[contact-form-7 id="%d"]', $formbridge_forms['cf7']['form'] );
}

if ( function_exists( 'wpforms' ) ) {
	$formbridge_content = array(
		'fields'   => array(
			'1' => array( 'id' => '1', 'type' => 'name', 'label' => 'Name', 'format' => 'first-last', 'required' => '1' ),
			'2' => array( 'id' => '2', 'type' => 'email', 'label' => 'Email', 'required' => '1' ),
			'3' => array(
				'id'      => '3',
				'type'    => 'checkbox',
				'label'   => 'Interests',
				'choices' => array(
					'1' => array( 'label' => 'Pricing' ),
					'2' => array( 'label' => 'Support' ),
					'3' => array( 'label' => 'Partnership' ),
				),
			),
			'4' => array( 'id' => '4', 'type' => 'textarea', 'label' => 'Message' ),
		),
		'field_id' => '5',
		'settings' => array( 'form_title' => 'Contact (WPForms)', 'antispam' => '1', 'ajax_submit' => '1' ),
	);
	$formbridge_id      = wpforms()->get( 'form' )->add( 'Contact (WPForms)', array( 'post_content' => wp_json_encode( $formbridge_content ) ), array( 'builder' => false ) );
	$formbridge_forms['wpforms'] = array(
		'form'      => (string) $formbridge_id,
		'shortcode' => sprintf( '[wpforms id="%d"]', $formbridge_id ),
	);
}

if ( class_exists( 'FrmForm' ) ) {
	FrmAppController::install(); // what the administrator's first visit to Formidable's pages runs.
	$formbridge_id = FrmForm::create(
		array(
			'name'        => 'Contact (Formidable)',
			'form_key'    => 'contact',
			'description' => '',
			'status'      => 'published',
		)
	);
	$formbridge_fields = array(
		array( 'text', 'name', 'Name', array() ),
		array( 'email', 'email', 'Email', array() ),
		array( 'checkbox', 'interests', 'Interests', array( 'Pricing', 'Support', 'Partnership' ) ),
		array( 'textarea', 'message', 'Message', array() ),
	);
	foreach ( $formbridge_fields as $formbridge_order => $formbridge_field ) {
		$formbridge_values = FrmFieldsHelper::setup_new_vars( $formbridge_field[0], $formbridge_id );
		$formbridge_values['field_key']   = $formbridge_field[1];
		$formbridge_values['name']        = $formbridge_field[2];
		$formbridge_values['field_order'] = $formbridge_order + 1;
		if ( $formbridge_field[3] ) {
			$formbridge_values['options'] = $formbridge_field[3];
		}
		FrmField::create( $formbridge_values );
	}
	$formbridge_forms['formidable'] = array(
		'form'      => (string) $formbridge_id,
		'shortcode' => sprintf( '[formidable id=%d]', $formbridge_id ),
	);
}

if ( defined( 'FLUENTFORM' ) || class_exists( '\FluentForm\App\Models\Form' ) ) {
	global $wpdb;
	// Fluent Forms makes its "Contact Form Demo" (names, email, subject, message) on activation.
	$formbridge_id = (int) $wpdb->get_var( "SELECT id FROM {$wpdb->prefix}fluentform_forms ORDER BY id LIMIT 1" );
	$formbridge_forms['fluentforms'] = array(
		'form'      => (string) $formbridge_id,
		'shortcode' => sprintf( '[fluentform id="%d"]', $formbridge_id ),
	);
}

foreach ( $formbridge_forms as $formbridge_plugin => $formbridge_form ) {
	$formbridge_page = wp_insert_post(
		array(
			'post_title'   => 'Contact ' . $formbridge_plugin,
			'post_content' => $formbridge_form['shortcode'],
			'post_status'  => 'publish',
			'post_type'    => 'page',
		)
	);
	$formbridge_forms[ $formbridge_plugin ]['page'] = get_permalink( $formbridge_page );
}
echo wp_json_encode( $formbridge_forms ), "\n";
