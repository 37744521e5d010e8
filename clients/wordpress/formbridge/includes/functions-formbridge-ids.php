<?php
/**
 * Identities the plugin makes.
 *
 * @package FormBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits; sorts by creation time.
 * Each captured lead gets one at capture, so no form plugin's reused entry id can merge two leads.
 *
 * @return string
 */
function formbridge_uuid7() {
	$hex     = str_pad( dechex( (int) floor( microtime( true ) * 1000 ) ), 12, '0', STR_PAD_LEFT );
	$hex    .= bin2hex( random_bytes( 10 ) );
	$hex[12] = '7'; // the version.
	$hex[16] = dechex( ( hexdec( $hex[16] ) & 0x3 ) | 0x8 ); // the RFC variant, 10xx.
	return substr( $hex, 0, 8 ) . '-' . substr( $hex, 8, 4 ) . '-' . substr( $hex, 12, 4 ) . '-'
		. substr( $hex, 16, 4 ) . '-' . substr( $hex, 20, 12 );
}
