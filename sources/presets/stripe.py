"""Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 of `t.body`.

The key is the endpoint's signing secret exactly as Stripe shows it (`whsec_...`, prefix and
all). Several v1 signatures appear while Stripe rolls a secret; any one verifies. The event id
(`evt_...`) and `type` are in the JSON body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import (
    DEFAULT_TOLERANCE_SECONDS,
    Event,
    Inbound,
    Preset,
    Secret,
    any_matches,
    check_fresh,
    hex_or_none,
    hmac_digest,
    json_object,
    missing,
    rejected,
    text_at,
    unix_seconds,
)


class Stripe(Preset):
    name = "stripe"
    id_is_signed = True
    label = "Stripe"
    setup_help = "Dashboard > Developers > Webhooks > your endpoint > Signing secret (whsec_...)."
    docs_url = "https://docs.stripe.com/webhooks#verify-manually"

    def verify(
        self, inbound: Inbound, secrets: Sequence[Secret], config: Mapping[str, Any]
    ) -> None:
        header = inbound.header("Stripe-Signature")
        if not header:
            raise missing("Stripe-Signature")
        timestamp, signatures = "", []
        for item in header.split(","):
            key, _, value = item.strip().partition("=")
            if key == "t":
                timestamp = value
            elif key == "v1":
                signatures.append(hex_or_none(value))
        signatures = [s for s in signatures if s is not None]
        if not timestamp or not signatures:
            raise rejected("Stripe-Signature has no t= timestamp or no v1= signature.")
        check_fresh(unix_seconds(timestamp), inbound.now, DEFAULT_TOLERANCE_SECONDS)
        message = timestamp.encode() + b"." + inbound.body
        expected = [hmac_digest(secret.text.encode(), message) for secret in secrets]
        if not any_matches(expected, signatures):
            raise rejected()

    def describe(self, inbound: Inbound, config: Mapping[str, Any]) -> Event:
        payload = json_object(inbound.body)
        return Event(text_at(payload, "id"), text_at(payload, "type"), payload)
