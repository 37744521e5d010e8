<?php
// Stand-in for WordPress's wp_remote_post, over PHP's curl extension, so the seed's snippet
// below runs unchanged outside WordPress.
function wp_remote_post($url, $args) {
  $headers = array();
  foreach ($args['headers'] as $name => $value) {
    $headers[] = "$name: $value";
  }
  $ch = curl_init($url);
  curl_setopt_array($ch, array(
    CURLOPT_POST => true,
    CURLOPT_POSTFIELDS => $args['body'],
    CURLOPT_HTTPHEADER => $headers,
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_TIMEOUT => $args['timeout'],
  ));
  $body = curl_exec($ch);
  $code = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
  return array('response' => array('code' => $code), 'body' => $body);
}

// The README's PHP snippet for signed ingest; only the three settings come from the environment, and it returns $resp.
function send_to_ingest($payload) {
  $api = getenv('FB_API');
  $tenant = getenv('FB_TENANT');
  $secret = getenv('FB_SECRET');
  $ts = gmdate("c");
  $body = json_encode($payload);
  $sig = hash_hmac('sha256', $ts . "\n" . $body, $secret);
  $resp = wp_remote_post($api, array(
    'headers' => array(
      'Content-Type' => 'application/json',
      'X-Tenant-Id' => $tenant,
      'X-Timestamp' => $ts,
      'X-Signature' => $sig
    ),
    'body' => $body,
    'timeout' => 5
  ));
  return $resp;
}

$resp = send_to_ingest(array(
  'name' => 'Jane',
  'email' => 'jane@example.com',
  'message' => 'Hello! Ünïcode, "quotes" and /slashes/',
  'url' => 'https://example.com/contact',
));
echo json_encode(array('code' => $resp['response']['code'], 'body' => $resp['body']));
