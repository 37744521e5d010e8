"""Shopify: `X-Shopify-Hmac-Sha256: <base64>`, HMAC-SHA256 of the body with the app's secret.

`X-Shopify-Webhook-Id` is the same on every retry of a delivery (the event id; newer API
versions also send `X-Shopify-Event-Id`), `X-Shopify-Topic` the type (`orders/create`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import (
    Event,
    Inbound,
    Preset,
    Secret,
    any_matches,
    b64decode_or_none,
    hmac_digest,
    json_object,
    missing,
    rejected,
)


def _shopify_header(inbound: Inbound, name: str) -> str:
    """Shopify's headers, spelt `X-Shopify-<name>` or, newer, `Shopify-<name>`."""
    return inbound.header(f"X-Shopify-{name}") or inbound.header(f"Shopify-{name}")


class Shopify(Preset):
    name = "shopify"
    receiver_chooses_secret = True
    type_is_signed = False  # X-Shopify-Topic
    label = "Shopify"
    setup_help = (
        "The app's client secret (Partner Dashboard > App > Client credentials), or for a "
        "webhook made in the store admin, the key shown under Settings > Notifications > Webhooks."
    )
    docs_url = (
        "https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook"
    )

    def verify(
        self, inbound: Inbound, secrets: Sequence[Secret], config: Mapping[str, Any]
    ) -> None:
        header = _shopify_header(inbound, "Hmac-Sha256")
        if not header:
            raise missing("X-Shopify-Hmac-Sha256")
        given = b64decode_or_none(header)
        if given is None:
            raise rejected("X-Shopify-Hmac-Sha256 must be base64.")
        expected = [hmac_digest(secret.text.encode(), inbound.body) for secret in secrets]
        if not any_matches(expected, [given]):
            raise rejected()

    def describe(self, inbound: Inbound, config: Mapping[str, Any]) -> Event:
        event_id = _shopify_header(inbound, "Webhook-Id") or _shopify_header(inbound, "Event-Id")
        return Event(event_id, _shopify_header(inbound, "Topic"), json_object(inbound.body))
