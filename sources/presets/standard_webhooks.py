"""Standard Webhooks (what Svix, Clerk, Resend and others send): `webhook-id`,
`webhook-timestamp` (Unix seconds, ±300 s) and `webhook-signature: v1,<base64> [v1,<base64>...]`,
HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the base64 part of a `whsec_` secret.

The receiver may choose the secret, so one is generated when none is given. `webhook-id` is the
event id (the same on retries); the type is the body's `type`, as the spec's examples carry it.
Svix (and Clerk and Resend, which send through it) spell the same three headers `svix-id`,
`svix-timestamp`, `svix-signature` by default (`webhook-*` is Svix's white-label spelling):
either spelling is read, the `webhook-*` one first.
"""

from __future__ import annotations

import base64
import secrets as random
from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import Invalid

from .base import (
    DEFAULT_TOLERANCE_SECONDS,
    Event,
    Inbound,
    Preset,
    Secret,
    any_matches,
    b64decode_or_none,
    check_fresh,
    hmac_digest,
    json_object,
    missing,
    rejected,
    text_at,
    unix_seconds,
)

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
SVIX_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")


def signature_headers(inbound: Inbound) -> tuple[tuple[str, ...], tuple[str, str, str]]:
    """The spelling the request uses, and its id, timestamp and signature values."""
    names = HEADERS
    if not any(inbound.header(name) for name in HEADERS) and any(
        inbound.header(name) for name in SVIX_HEADERS
    ):
        names = SVIX_HEADERS
    webhook_id, timestamp, signature = (inbound.header(name) for name in names)
    return names, (webhook_id, timestamp, signature)


def check_secret(text: str) -> None:
    key = Secret(text).standard_webhooks_key()
    if not text.startswith("whsec_") or not key or len(key) < 24:
        raise Invalid(
            "a Standard Webhooks secret is whsec_ followed by base64 of at least 24 bytes",
            field="secret",
        )


class StandardWebhooks(Preset):
    name = "standard-webhooks"
    id_is_signed = True
    label = "Standard Webhooks (Svix, Clerk, Resend, ...)"
    setup_help = "The endpoint's signing secret (whsec_...), or leave empty to have one made."
    generates_secret = True
    docs_url = (
        "https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md"
    )

    def generate_secret(self) -> str:
        return "whsec_" + base64.b64encode(random.token_bytes(32)).decode()

    def verify(
        self, inbound: Inbound, secrets: Sequence[Secret], config: Mapping[str, Any]
    ) -> None:
        names, (webhook_id, timestamp, header) = signature_headers(inbound)
        absent = [
            name
            for name, value in zip(names, (webhook_id, timestamp, header), strict=True)
            if not value
        ]
        if absent:
            raise missing(*absent)
        check_fresh(unix_seconds(timestamp), inbound.now, DEFAULT_TOLERANCE_SECONDS)
        given = [
            b64decode_or_none(value)
            for version, _, value in (item.partition(",") for item in header.split())
            if version == "v1"
        ]
        given = [g for g in given if g is not None]
        if not given:
            raise rejected(f"{names[2]} has no v1,<base64> signature.")
        message = f"{webhook_id}.{timestamp}.".encode() + inbound.body
        keys = [key for key in (secret.standard_webhooks_key() for secret in secrets) if key]
        if not any_matches([hmac_digest(key, message) for key in keys], given):
            raise rejected()

    def describe(self, inbound: Inbound, config: Mapping[str, Any]) -> Event:
        payload = json_object(inbound.body)
        _, (webhook_id, _, _) = signature_headers(inbound)
        return Event(webhook_id, text_at(payload, "type"), payload)
