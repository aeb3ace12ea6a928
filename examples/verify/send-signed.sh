#!/bin/sh
# Sends your receiver a request signed the way callhook signs, with curl and openssl: to try a
# receiver (show.php, verify.py, ...) before any call happens.
#   CALLHOOK_SECRET=whsec_... sh send-signed.sh GET  'http://127.0.0.1:8080/show.php?myid=175' 'EventType=hangup&CallID=1'
#   CALLHOOK_SECRET=whsec_... sh send-signed.sh POST 'http://127.0.0.1:8080/show.php?myid=175' 'EventType=hangup&CallID=1'
# Prints the HTTP status the receiver answered.
set -eu
method=$1 url=$2 data=$3
secret=${CALLHOOK_SECRET:?set CALLHOOK_SECRET to the whsec_ secret of the endpoint}

id="msg_test$(date +%s)$$"
timestamp=$(date +%s)
if [ "$method" = GET ]; then
  case $url in *\?*) url="$url&$data" ;; *) url="$url?$data" ;; esac
  payload=${url#*[?]} # GET signs the whole query as sent, the URL's own parameters included
else
  payload=$data
fi
key=$(printf '%s' "${secret#whsec_}" | openssl base64 -d -A | od -An -v -tx1 | tr -d ' \n')
signature=$(printf '%s.%s.%s' "$id" "$timestamp" "$payload" |
  openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | openssl base64 -A)

if [ "$method" = GET ]; then
  set -- -G
else
  set -- -H 'content-type: application/x-www-form-urlencoded; charset=utf-8' --data-binary "$payload"
fi
curl -s -o /dev/null -w '%{http_code}\n' "$@" \
  -H "webhook-id: $id" -H "webhook-timestamp: $timestamp" -H "webhook-signature: v1,$signature" "$url"
