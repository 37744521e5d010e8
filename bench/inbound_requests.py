"""Request files for the other ways in that bench/ingest.py measures beside signed ingest: a
Stripe webhook at a source's URL (signed as Stripe signs) and a browser's urlencoded form post.
Each body carries the same contact-form fields as signed ingest's, and is unique."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.wrk import request_line

STRIPE_SECRET = "whsec_bench_stripe_endpoint_secret"
FORM_ORIGIN = "https://www.example.com"


def _fields(salt: str, n: int) -> dict:
    return {
        "name": "Jane Doe",
        "email": f"jane.doe+{salt}{n}@example.com",
        "phone": "+1 555 0100",
        "message": "Hello! I would like a quote for the spring campaign, please.",
        "page": "https://example.com/contact",
        "consent": "yes",
    }


def write_stripe_requests(path: Path, count: int, salt: str, url_path: str) -> None:
    """Stripe events, each its own id (a provider retry would be a duplicate), signed over
    `t.body` as Stripe-Signature `t=...,v1=...`."""
    t = str(int(time.time()))
    key = STRIPE_SECRET.encode()
    with path.open("w") as out:
        for n in range(count):
            body = json.dumps(
                {
                    "id": f"evt_{salt}{n}",
                    "object": "event",
                    "type": "checkout.session.completed",
                    "created": int(t),
                    "data": {"object": {"object": "checkout.session", **_fields(salt, n)}},
                },
                separators=(",", ":"),
            )
            signature = hmac.new(key, f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": f"t={t},v1={signature}",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            }
            out.write(request_line("POST", url_path, headers, body))


def write_form_requests(path: Path, count: int, salt: str, url_path: str) -> None:
    """What a browser sends for a plain <form method=post>: urlencoded, from an allowed page."""
    with path.open("w") as out:
        for n in range(count):
            body = urlencode({**_fields(salt, n), "_gotcha": ""})
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": FORM_ORIGIN,
                "Referer": f"{FORM_ORIGIN}/contact",
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            }
            out.write(request_line("POST", url_path, headers, body))
