<?php
/**
 * Uploaded files: copied at capture into a private spool (Contact Form 7 deletes its uploads when
 * the visitor's request ends; the send happens later), sent with their lead as parts of a signed
 * multipart/form-data body, and deleted once FormBridge has them.
 *
 * @package FormBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The spool and the multipart body.
 */
class FormBridge_Files {

	/** Files per lead, and bytes per file, sent (FormBridge's own defaults); larger travel as
	 * their name and URL only. Filters: formbridge_max_files, formbridge_max_file_bytes. */
	const MAX_FILES      = 10;
	const MAX_FILE_BYTES = 10485760;

	/**
	 * The spool folder, made private on first use.
	 *
	 * @return string
	 */
	public static function spool() {
		$dir = self::spool_path();
		if ( ! is_dir( $dir ) ) {
			wp_mkdir_p( $dir );
			// Never served: Apache reads .htaccess; every server finds no index to list.
			file_put_contents( $dir . '/.htaccess', "Require all denied\nDeny from all\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_file_put_contents
			file_put_contents( $dir . '/index.php', "<?php\n// Silence is golden.\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_file_put_contents
		}
		return $dir;
	}

	/**
	 * Where the spool is (made or not).
	 *
	 * @return string
	 */
	private static function spool_path() {
		$uploads = wp_upload_dir( null, false );
		return trailingslashit( $uploads['basedir'] ) . 'formbridge-spool';
	}

	/**
	 * Copies a lead's files into the spool; each kept file gains 'spool' (its copy's path), the
	 * others keep their name and URL only.
	 *
	 * @param string $submission_id The lead.
	 * @param array  $files         Each field, filename, and path (local) or url.
	 * @return array The attachments as queued.
	 */
	public static function keep( $submission_id, array $files ) {
		$max_files = (int) apply_filters( 'formbridge_max_files', self::MAX_FILES );
		$max_bytes = (int) apply_filters( 'formbridge_max_file_bytes', self::MAX_FILE_BYTES );
		$kept      = 0;
		$folder    = null;
		$queued    = array();
		foreach ( $files as $file ) {
			$path = isset( $file['path'] ) ? $file['path'] : self::local_path( isset( $file['url'] ) ? $file['url'] : '' );
			unset( $file['path'] );
			if ( $path && is_file( $path ) && is_readable( $path ) && $kept < $max_files && filesize( $path ) <= $max_bytes ) {
				if ( null === $folder ) {
					$folder = self::spool() . '/' . sanitize_file_name( $submission_id ) . '-' . wp_generate_password( 12, false );
					wp_mkdir_p( $folder );
				}
				$copy = $folder . '/' . $kept . '-' . sanitize_file_name( $file['filename'] );
				if ( copy( $path, $copy ) ) {
					$file['spool'] = $copy;
					++$kept;
				}
			}
			$queued[] = $file;
		}
		return $queued;
	}

	/**
	 * A URL of this site's uploads as its file's path ('' for any other URL).
	 *
	 * @param string $url The URL.
	 * @return string
	 */
	private static function local_path( $url ) {
		$uploads = wp_upload_dir( null, false );
		$base    = trailingslashit( $uploads['baseurl'] );
		if ( '' === $url || 0 !== strpos( $url, $base ) ) {
			return '';
		}
		$relative = rawurldecode( substr( (string) wp_parse_url( $url, PHP_URL_PATH ), strlen( (string) wp_parse_url( $base, PHP_URL_PATH ) ) ) );
		if ( false !== strpos( $relative, '..' ) ) {
			return '';
		}
		return trailingslashit( $uploads['basedir'] ) . ltrim( $relative, '/' );
	}

	/**
	 * The request body for a queued envelope: JSON when it has no spooled file, else multipart
	 * with the envelope (spool paths removed) as its "envelope" part and each file as a part.
	 *
	 * @param string $envelope The queued envelope (JSON).
	 * @return array{0:string,1:string} The body and its Content-Type.
	 */
	public static function request_body( $envelope ) {
		$decoded = json_decode( $envelope, true );
		$spooled = array();
		$changed = false;
		foreach ( isset( $decoded['attachments'] ) ? (array) $decoded['attachments'] : array() as $index => $file ) {
			if ( isset( $file['spool'] ) ) {
				if ( is_readable( $file['spool'] ) ) {
					$spooled[] = $file; // sent as a part; FormBridge lists it with its content.
				} else {
					unset( $file['spool'] ); // gone (erased): its name and URL travel alone.
					$decoded['attachments'][] = $file;
				}
				unset( $decoded['attachments'][ $index ] );
				$changed = true;
			}
		}
		if ( ! $spooled ) {
			return array( $changed ? wp_json_encode( self::reindexed( $decoded ) ) : $envelope, 'application/json' );
		}
		$boundary = 'formbridge-' . wp_generate_password( 24, false );
		$body     = "--{$boundary}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: application/json\r\n\r\n"
			. wp_json_encode( self::reindexed( $decoded ) ) . "\r\n";
		foreach ( $spooled as $file ) {
			$type  = wp_check_filetype( $file['filename'] );
			$body .= "--{$boundary}\r\nContent-Disposition: form-data; name=\"" . self::quoted( $file['field'] ) . '"; filename="' . self::quoted( $file['filename'] ) . "\"\r\n"
				. 'Content-Type: ' . ( $type['type'] ? $type['type'] : 'application/octet-stream' ) . "\r\n\r\n"
				. file_get_contents( $file['spool'] ) . "\r\n"; // phpcs:ignore WordPress.WP.AlternativeFunctions.file_get_contents_file_get_contents
		}
		return array( $body . "--{$boundary}--\r\n", 'multipart/form-data; boundary=' . $boundary );
	}

	/**
	 * Deletes a lead's spooled files (FormBridge has them, or the lead is erased).
	 *
	 * @param string $envelope The queued envelope (JSON).
	 */
	public static function forget( $envelope ) {
		$decoded = json_decode( (string) $envelope, true );
		$folders = array();
		$files   = isset( $decoded['attachments'] ) ? (array) $decoded['attachments'] : array();
		$spool   = $files ? self::spool_path() . '/' : '';
		foreach ( $files as $file ) {
			if ( isset( $file['spool'] ) && 0 === strpos( (string) $file['spool'], $spool ) ) {
				wp_delete_file( $file['spool'] );
				$folders[ dirname( $file['spool'] ) ] = true;
			}
		}
		foreach ( array_keys( $folders ) as $folder ) {
			@rmdir( $folder ); // phpcs:ignore WordPress.PHP.NoSilencedErrors.Discouraged, WordPress.WP.AlternativeFunctions.file_system_operations_rmdir -- only when empty.
		}
	}

	/**
	 * The envelope with its attachments as a list again.
	 *
	 * @param array $decoded The envelope.
	 * @return array
	 */
	private static function reindexed( array $decoded ) {
		if ( isset( $decoded['attachments'] ) ) {
			$decoded['attachments'] = array_values( $decoded['attachments'] );
		}
		return $decoded;
	}

	/**
	 * A name for a Content-Disposition parameter.
	 *
	 * @param string $name The name.
	 * @return string
	 */
	private static function quoted( $name ) {
		return str_replace( array( '"', "\r", "\n", '\\' ), array( '%22', '', '', '_' ), (string) $name );
	}
}
