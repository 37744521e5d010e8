"""A tiny webhook receiver for `make run`: verifies the Standard Webhooks signature and prints
each delivery, so a new user can watch submissions arrive. Not for production.

    python -m delivery.demo_receiver [--port 8001] [--secret-file var/demo-receiver.secret]
"""

from __future__ import annotations

import argparse
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from delivery.signing import sign

TOLERANCE_SECONDS = 300


def verify(secret: str, headers, body: bytes) -> str:
    """'verified', or why not: what a receiver following Standard Webhooks checks."""
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split()
    if not (message_id and timestamp.isdigit() and signatures):
        return "unsigned"
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return "stale timestamp"
    expected = sign(secret, message_id=message_id, timestamp=int(timestamp), body=body)
    if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        return "verified"
    return "BAD SIGNATURE"


def make_handler(secret_file: Path):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            secret = secret_file.read_text().strip() if secret_file.exists() else ""
            check = verify(secret, self.headers, body) if secret else "no secret to check with"
            try:
                event = json.loads(body)
                summary = json.dumps(event.get("payload", event), ensure_ascii=False)
            except (ValueError, AttributeError):
                summary = body[:200].decode("utf-8", "replace")
            print(
                f"received submission {self.headers.get('X-FormBridge-Submission-Id', '?')} "
                f"(signature {check}): {summary}",
                flush=True,
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, format: str, *args) -> None:
            pass  # one line per delivery, printed above, is enough

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--secret-file", type=Path, default=Path("var/demo-receiver.secret"))
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.secret_file))
    print(f"demo receiver listening on http://127.0.0.1:{args.port}/hook", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
