<?php
/**
 * The test site's mail: PHPMailer over SMTP to the port site.json names, where the test runs a
 * mail server (aiosmtpd), or nothing at all when the site's mail is to fail.
 *
 * @package FormBridge
 */

add_action(
	'phpmailer_init',
	static function ( $phpmailer ) {
		$site = json_decode( (string) file_get_contents( ABSPATH . 'site.json' ), true );
		$phpmailer->isSMTP();
		$phpmailer->Host    = '127.0.0.1'; // phpcs:ignore WordPress.NamingConventions.ValidVariableName.UsedPropertyNotSnakeCase
		$phpmailer->Port    = (int) $site['smtp_port']; // phpcs:ignore WordPress.NamingConventions.ValidVariableName.UsedPropertyNotSnakeCase
		$phpmailer->SMTPAuth = false; // phpcs:ignore WordPress.NamingConventions.ValidVariableName.UsedPropertyNotSnakeCase
		$phpmailer->SMTPAutoTLS = false; // phpcs:ignore WordPress.NamingConventions.ValidVariableName.UsedPropertyNotSnakeCase
		$phpmailer->Timeout = 5; // phpcs:ignore WordPress.NamingConventions.ValidVariableName.UsedPropertyNotSnakeCase
	}
);
