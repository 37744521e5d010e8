"""FormBridge's signed contract: HMAC-SHA256 of the timestamp, a newline and the body."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone


def timestamp(moment: datetime | None = None) -> str:
    """The time as PHP's gmdate("c") prints it (2026-01-31T09:30:00+00:00), as servers expect."""
    return (
        (moment or datetime.now(timezone.utc))
        .astimezone(timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%S+00:00")
    )


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def signed_headers(tenant_id: str, secret: str, body: bytes) -> dict[str, str]:
    """The three headers of POST /v1/ingest, fresh for this send (a retry signs anew)."""
    moment = timestamp()
    return {
        "X-Tenant-Id": tenant_id,
        "X-Timestamp": moment,
        "X-Signature": signature(secret, moment, body),
    }
