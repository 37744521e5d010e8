<?php
/**
 * Every visitor of the test site comes from 127.0.0.1: Fluent Forms' limit of five submissions
 * per address in 30 seconds (its documented fluentform/prevent_malicious_attacks filter) would
 * refuse the tests' and the benchmark's visitors as one flooding client.
 *
 * @package FormBridge
 */

add_filter( 'fluentform/prevent_malicious_attacks', '__return_false' );
