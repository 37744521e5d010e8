"""Typeform: `Typeform-Signature: sha256=<base64>`, HMAC-SHA256 of the body with the secret
set on the form's webhook. The body's `event_id` is the id, `event_type` (`form_response`) the
type.
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
    text_at,
)


class Typeform(Preset):
    name = "typeform"
    id_is_signed = True
    receiver_chooses_secret = True
    label = "Typeform"
    setup_help = "The secret you set on the form: Connect > Webhooks > Edit > Secret."
    docs_url = "https://www.typeform.com/developers/webhooks/secure-your-webhooks/"

    def verify(
        self, inbound: Inbound, secrets: Sequence[Secret], config: Mapping[str, Any]
    ) -> None:
        header = inbound.header("Typeform-Signature")
        if not header:
            raise missing("Typeform-Signature")
        given = (
            b64decode_or_none(header.removeprefix("sha256="))
            if header.startswith("sha256=")
            else None
        )
        if given is None:
            raise rejected("Typeform-Signature must be sha256=<base64>.")
        expected = [hmac_digest(secret.text.encode(), inbound.body) for secret in secrets]
        if not any_matches(expected, [given]):
            raise rejected()

    def describe(self, inbound: Inbound, config: Mapping[str, Any]) -> Event:
        payload = json_object(inbound.body)
        return Event(text_at(payload, "event_id"), text_at(payload, "event_type"), payload)
