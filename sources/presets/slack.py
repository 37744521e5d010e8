"""Slack: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{body}`
with the app's signing secret, the timestamp within ±300 s.

Events API bodies are JSON: `event_id` is the id (the same on Slack's retries, which carry
X-Slack-Retry-Num), the inner `event.type` the type. The `url_verification` request Slack sends
when the URL is entered is answered with its challenge and not stored. Slash commands and
interactivity post urlencoded forms (`command`, or a JSON `payload` field).
"""

from __future__ import annotations

import hashlib
import json
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
    missing,
    payload_of,
    rejected,
    text_at,
    unix_seconds,
)


class Slack(Preset):
    name = "slack"
    id_is_signed = True
    label = "Slack"
    setup_help = (
        "api.slack.com/apps > your app > Basic Information > App Credentials > Signing Secret."
    )
    docs_url = "https://api.slack.com/authentication/verifying-requests-from-slack"

    def verify(
        self, inbound: Inbound, secrets: Sequence[Secret], config: Mapping[str, Any]
    ) -> None:
        signature = inbound.header("X-Slack-Signature")
        timestamp = inbound.header("X-Slack-Request-Timestamp")
        if not signature or not timestamp:
            raise missing(
                *(
                    name
                    for name, value in (
                        ("X-Slack-Signature", signature),
                        ("X-Slack-Request-Timestamp", timestamp),
                    )
                    if not value
                )
            )
        check_fresh(unix_seconds(timestamp), inbound.now, DEFAULT_TOLERANCE_SECONDS)
        given = hex_or_none(signature.removeprefix("v0=")) if signature.startswith("v0=") else None
        if given is None:
            raise rejected("X-Slack-Signature must be v0=<hex>.")
        message = b"v0:" + timestamp.encode() + b":" + inbound.body
        expected = [hmac_digest(secret.text.encode(), message) for secret in secrets]
        if not any_matches(expected, [given]):
            raise rejected()

    def describe(self, inbound: Inbound, config: Mapping[str, Any]) -> Event:
        payload = payload_of(inbound)
        if payload.get("type") == "url_verification":
            return Event(
                "", "url_verification", payload, reply={"challenge": payload.get("challenge")}
            )
        if "event_id" in payload:  # the Events API
            event_type = text_at(payload, "event", "type") or text_at(payload, "type")
            return Event(text_at(payload, "event_id"), event_type, payload)
        if isinstance(payload.get("payload"), str):  # interactivity: a JSON document in a field
            try:
                inner = json.loads(payload["payload"])
            except ValueError:
                inner = {}
            event_type = text_at(inner, "type") if isinstance(inner, dict) else ""
        else:
            event_type = text_at(payload, "command")  # "/deploy"
        # Slash commands and actions carry no event id; Slack does not retry them, so the
        # signed bytes name the request (a replay of them is a duplicate).
        return Event(hashlib.sha256(inbound.body).hexdigest()[:32], event_type, payload)
