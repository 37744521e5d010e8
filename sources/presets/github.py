"""GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the body with the webhook secret.

`X-GitHub-Delivery` (a GUID, the same on a redelivery) is the event id; `X-GitHub-Event` the
type (`push`, `pull_request`, `ping`, ...). GitHub signs no timestamp: a replay of the same
delivery is a duplicate of it, which stores nothing.
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
    hex_or_none,
    hmac_digest,
    json_object,
    missing,
    payload_of,
    rejected,
)


class GitHub(Preset):
    name = "github"
    receiver_chooses_secret = True
    type_is_signed = False  # X-GitHub-Event
    label = "GitHub"
    setup_help = "The Secret you type in the repository's (or app's) Webhooks settings."
    docs_url = "https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries"

    def verify(
        self, inbound: Inbound, secrets: Sequence[Secret], config: Mapping[str, Any]
    ) -> None:
        header = inbound.header("X-Hub-Signature-256")
        if not header:
            raise missing("X-Hub-Signature-256")
        given = (
            hex_or_none(header.removeprefix("sha256=")) if header.startswith("sha256=") else None
        )
        if given is None:
            raise rejected("X-Hub-Signature-256 must be sha256=<hex>.")
        expected = [hmac_digest(secret.text.encode(), inbound.body) for secret in secrets]
        if not any_matches(expected, [given]):
            raise rejected()

    def describe(self, inbound: Inbound, config: Mapping[str, Any]) -> Event:
        # A webhook set to application/x-www-form-urlencoded sends the event's JSON as the one
        # field `payload`: the event is that JSON, as with application/json.
        payload = payload_of(inbound)
        if inbound.media_type == "application/x-www-form-urlencoded" and isinstance(
            payload.get("payload"), str
        ):
            payload = json_object(payload["payload"].encode())
        return Event(inbound.header("X-GitHub-Delivery"), inbound.header("X-GitHub-Event"), payload)
