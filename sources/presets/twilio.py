"""Twilio: `X-Twilio-Signature: <base64>`, HMAC-SHA1 with the account's auth token of the full
URL Twilio called followed by every POST parameter, sorted by name, as name + value (a repeated
name's values sorted, each once). A webhook signed with a SharedKey says so in
`X-Twilio-Webhooks-Signature-Settings: key=...,algorithm=HMAC_SHA256`: the same text, SHA-256,
keyed with that secret (the source's secret then).

A JSON body is signed differently: the URL carries `bodySHA256` (hex SHA-256 of the body) and
only the URL is signed. Twilio's own libraries also try the URL with and without the default
port, since proxies differ on whether they keep it; so do we. `I-Twilio-Idempotency-Token` is
the same on Twilio's retries (the event id); the type is the message or call status.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from .base import (
    Event,
    Inbound,
    Preset,
    Secret,
    any_matches,
    b64decode_or_none,
    form_fields,
    hmac_digest,
    json_object,
    missing,
    rejected,
    text_at,
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_STATUS_FIELDS = ("MessageStatus", "SmsStatus", "CallStatus", "RecordingStatus")


def url_variants(url: str) -> list[str]:
    """The URL as called, and with the default port added or removed."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is None and default:
        other = parts._replace(netloc=f"{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=host)
    else:
        return [url]
    return [url, urlunsplit(other)]


def signed_text(url: str, params: Mapping[str, Any]) -> bytes:
    """The URL, then each parameter name + value in name order; a repeated name's values
    sorted and each once (as Twilio's own RequestValidator builds it, not in arrival order)."""
    text = url
    for name in sorted(params):
        values = params[name] if isinstance(params[name], list) else [params[name]]
        for value in sorted(set(values)):
            text += name + value
    return text.encode()


# X-Twilio-Webhooks-Signature-Settings: key=<SharedKey id>,algorithm=HMAC_SHA256 (a webhook
# signed with a SharedKey instead of the auth token); without it, the legacy HMAC-SHA1.
_ALGORITHMS = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}


def algorithm_of(settings_header: str) -> str | None:
    """The hash a request names (sha1 when it names none); None for one we do not know."""
    for part in settings_header.split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "algorithm" and value.strip():
            return _ALGORITHMS.get(value.strip().upper())
    return "sha1"


class Twilio(Preset):
    name = "twilio"
    label = "Twilio"
    setup_help = "Console > Account > API keys & tokens > Auth Token (the primary one)."
    docs_url = "https://www.twilio.com/docs/usage/webhooks/webhooks-security"

    def verify(
        self, inbound: Inbound, secrets: Sequence[Secret], config: Mapping[str, Any]
    ) -> None:
        header = inbound.header("X-Twilio-Signature")
        if not header:
            raise missing("X-Twilio-Signature")
        given = b64decode_or_none(header)
        if given is None:
            raise rejected("X-Twilio-Signature must be base64.")
        if inbound.media_type == "application/x-www-form-urlencoded":
            params = form_fields(inbound.body)
        else:
            claimed = parse_qs(urlsplit(inbound.url).query).get("bodySHA256", [""])[0]
            actual = hashlib.sha256(inbound.body).hexdigest()
            if not hmac.compare_digest(claimed.lower().encode(), actual.encode()):
                raise rejected("bodySHA256 in the URL does not match the body.")
            params = {}
        algorithm = algorithm_of(inbound.header("X-Twilio-Webhooks-Signature-Settings"))
        if algorithm is None:
            raise rejected("X-Twilio-Webhooks-Signature-Settings names an unknown algorithm.")
        expected = [
            hmac_digest(secret.text.encode(), signed_text(url, params), algorithm)
            for secret in secrets
            for url in url_variants(inbound.url)
        ]
        if not any_matches(expected, [given]):
            raise rejected()

    def signed_material(self, inbound: Inbound, config: Mapping[str, Any]) -> bytes:
        # The URL's path and query are signed with the parameters (the host may be spelt with
        # or without its port, and is the same installation either way).
        parts = urlsplit(inbound.url)
        return f"{parts.path}?{parts.query}\n".encode() + inbound.body

    def describe(self, inbound: Inbound, config: Mapping[str, Any]) -> Event:
        if inbound.media_type == "application/x-www-form-urlencoded":
            payload = form_fields(inbound.body)
        else:
            payload = json_object(inbound.body)
        event_id = (
            inbound.header("I-Twilio-Idempotency-Token")
            or hashlib.sha256(inbound.body).hexdigest()[:32]
        )
        event_type = next((text_at(payload, f) for f in _STATUS_FIELDS if text_at(payload, f)), "")
        return Event(event_id, event_type, payload)
