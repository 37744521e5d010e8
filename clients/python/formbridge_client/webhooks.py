"""For a receiver of FormBridge's outbound webhooks: check a delivery's Standard Webhooks
signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`) over the raw body, constant
time, within a timestamp window, before trusting it.

    from formbridge_client import webhooks

    event = webhooks.verify(secret, request.headers, request.body)  # raises WebhookInvalid
    # event["submission_id"], event["payload"] ...; deduplicate on headers["webhook-id"]
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

TOLERANCE_SECONDS = 300


class WebhookInvalid(Exception):
    """The request is not a delivery FormBridge signed with this secret, now."""


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"))
    except (binascii.Error, ValueError):
        raise WebhookInvalid("the secret is not whsec_ followed by base64") from None


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> Any:
    """The delivered event (parsed JSON) if the signature and timestamp hold; WebhookInvalid
    otherwise. `headers` in any case; `body` exactly as received."""
    lower = {name.lower(): value for name, value in headers.items()}
    webhook_id = lower.get("webhook-id", "")
    timestamp = lower.get("webhook-timestamp", "")
    signatures = lower.get("webhook-signature", "")
    if not (webhook_id and timestamp and signatures):
        raise WebhookInvalid("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookInvalid("webhook-timestamp is not Unix seconds") from None
    if abs((time.time() if now is None else now) - sent_at) > tolerance:
        raise WebhookInvalid("webhook-timestamp is outside the tolerance (old, or replayed)")
    raw = body.encode() if isinstance(body, str) else body
    expected = base64.b64encode(
        hmac.new(_key(secret), f"{webhook_id}.{timestamp}.".encode() + raw, hashlib.sha256).digest()
    )
    for signature in signatures.split():
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return json.loads(raw)
    raise WebhookInvalid("no signature matches")
