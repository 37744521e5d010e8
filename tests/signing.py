"""Build requests exactly as a client of POST /v1/ingest would."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any


def php_gmdate_c(moment: datetime | None = None) -> str:
    """What PHP's gmdate("c") prints: 2025-08-25T18:00:00+00:00."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def encode(body: bytes | str | dict[str, Any] | list) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def signed_headers(
    *, tenant_id: str, secret: str, body: bytes, timestamp: str | None = None, **extra: str
) -> dict[str, str]:
    timestamp = timestamp or php_gmdate_c()
    return {
        "X-Tenant-Id": tenant_id,
        "X-Timestamp": timestamp,
        "X-Signature": sign(secret, timestamp, body),
        **extra,
    }
