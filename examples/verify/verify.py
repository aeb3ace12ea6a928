"""Verifying callhook's `webhook-signature` in Python (standard library only).

Copy `verify()` into your receiver. Run as a script, this file is a whole receiver:
    CALLHOOK_SECRET=whsec_... python3 verify.py 8080
"""

import base64
import hashlib
import hmac
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs


def verify(secret: str, msg_id: str, timestamp: str, signature: str, payload: bytes, tolerance: int = 300) -> bool:
    """True when one `v1,` entry of `signature` is the HMAC-SHA256, keyed with the base64 after
    `whsec_` in `secret`, of `msg_id.timestamp.payload`, and `timestamp` is within `tolerance`
    seconds of now. `payload` is the raw query string for GET (everything after `?`, your own
    `myid=175` included) and the raw body for POST: the bytes as received, never re-encoded."""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # Several entries while a rotated secret is in its grace period: any one may match.
    return any(
        entry.startswith("v1,") and hmac.compare_digest(entry[3:], expected) for entry in signature.split(" ")
    )


class Receiver(BaseHTTPRequestHandler):
    def handle_event(self) -> None:
        # self.path is the request target as sent: the query after `?` is the GET payload.
        query = self.path.partition("?")[2].partition("#")[0]
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        payload = body if self.command == "POST" else query.encode()
        ok = verify(
            os.environ.get("CALLHOOK_SECRET", ""),
            self.headers.get("webhook-id", ""),
            self.headers.get("webhook-timestamp", ""),
            self.headers.get("webhook-signature", ""),
            payload,
        )
        if not ok:
            self.send_response(401)
            self.end_headers()
            return
        # Verified: the event is the form data (UTF-8), your own parameters in the query.
        event = {k: v[-1] for k, v in parse_qs(body.decode() if self.command == "POST" else query).items()}
        own = parse_qs(query)
        print(
            f"verified {self.command} {self.headers['webhook-id']} {event.get('EventType', '?')}"
            f" myid={own.get('myid', ['-'])[0]}",
            flush=True,
        )
        self.send_response(204)
        self.end_headers()

    do_GET = handle_event
    do_POST = handle_event

    def log_message(self, format: str, *args: object) -> None:  # quiet: one line per event above
        pass


if __name__ == "__main__":
    server = HTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8080), Receiver)
    print(f"listening on http://127.0.0.1:{server.server_port}/", flush=True)
    server.serve_forever()
