<?php
// Verifying callhook's `webhook-signature` in PHP, for a receiver like the provider page's
// show.php. Copy callhook_verify() into your script; the lines below it are a whole receiver:
//   CALLHOOK_SECRET=whsec_... php -S 127.0.0.1:8080 verify.php
// (or put them at the top of show.php behind Apache/nginx: PHP's QUERY_STRING is the raw query).

/**
 * True when one of the `v1,` entries of $signature is the HMAC-SHA256, keyed with the base64
 * after `whsec_` in $secret, of "$id.$timestamp.$payload", and $timestamp is within $tolerance
 * seconds of now. $payload is the raw query string for GET (everything after `?`, your own
 * `myid=175` included) and the raw body for POST: the bytes as received, not re-encoded.
 */
function callhook_verify(string $secret, string $id, string $timestamp, string $signature, string $payload, int $tolerance = 300): bool
{
    if (!ctype_digit($timestamp) || abs(time() - (int) $timestamp) > $tolerance) {
        return false;
    }
    $key = base64_decode(preg_replace('/^whsec_/', '', $secret), true);
    if ($key === false) {
        return false;
    }
    $expected = base64_encode(hash_hmac('sha256', "$id.$timestamp.$payload", $key, true));
    foreach (explode(' ', $signature) as $entry) {
        // Several entries while a rotated secret is in its grace period: any one may match.
        if (str_starts_with($entry, 'v1,') && hash_equals($expected, substr($entry, 3))) {
            return true;
        }
    }
    return false;
}

$method = $_SERVER['REQUEST_METHOD'];
$payload = $method === 'POST' ? file_get_contents('php://input') : ($_SERVER['QUERY_STRING'] ?? '');
$ok = callhook_verify(
    getenv('CALLHOOK_SECRET') ?: '',
    $_SERVER['HTTP_WEBHOOK_ID'] ?? '',
    $_SERVER['HTTP_WEBHOOK_TIMESTAMP'] ?? '',
    $_SERVER['HTTP_WEBHOOK_SIGNATURE'] ?? '',
    $payload
);
if (!$ok) {
    http_response_code(401);
    echo "bad signature\n";
    return;
}
// Verified: the event is $_GET (GET) or $_POST (POST), as the page's show.php reads it.
$event = $method === 'POST' ? $_POST : $_GET;
$log = getenv('CALLHOOK_LOG') ?: 'callhook.log';
file_put_contents($log, sprintf(
    "verified %s %s %s myid=%s\n",
    $method,
    $_SERVER['HTTP_WEBHOOK_ID'],
    $event['EventType'] ?? '?',
    $_GET['myid'] ?? '-'
), FILE_APPEND | LOCK_EX);
echo "OK";
