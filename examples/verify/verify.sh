#!/bin/sh
# Verifying callhook's `webhook-signature` with openssl, from a shell:
#   printf '%s' "$PAYLOAD" | CALLHOOK_SECRET=whsec_... sh verify.sh "$WEBHOOK_ID" "$WEBHOOK_TIMESTAMP" "$WEBHOOK_SIGNATURE"
# The payload on stdin is the raw query string for GET (everything after `?`, your own
# `myid=175` included) or the raw body for POST, byte for byte. Exit 0: one of the `v1,` entries
# is the HMAC-SHA256 of "id.timestamp.payload" keyed with the base64 after `whsec_`, and the
# timestamp is within 300 s of now. Exit 1 otherwise.
set -eu
id=$1 timestamp=$2 signature=$3
secret=${CALLHOOK_SECRET:?set CALLHOOK_SECRET to the whsec_ secret of the endpoint}

case $timestamp in '' | *[!0-9]*) exit 1 ;; esac
age=$(($(date +%s) - timestamp))
[ "${age#-}" -le 300 ] || exit 1

# The key is binary: hand it to openssl as hex.
key=$(printf '%s' "${secret#whsec_}" | openssl base64 -d -A | od -An -v -tx1 | tr -d ' \n')
expected=$({ printf '%s.%s.' "$id" "$timestamp"; cat; } |
  openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | openssl base64 -A)
# Several entries while a rotated secret is in its grace period: any one may match.
for entry in $signature; do
  [ "$entry" = "v1,$expected" ] && exit 0
done
exit 1
