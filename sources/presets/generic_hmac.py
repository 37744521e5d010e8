"""Generic HMAC, for a provider without a preset: the operator says which header carries the
signature, the algorithm, the encoding, an optional prefix (`sha256=`), and what is signed:
the body, or a timestamp header's value, a separator and the body (with its own tolerance).

The signed bytes name the event (a replay of them is a duplicate). `id_header` and
`type_header` are refused: no signature covers them, so a captured request replayed with a new
id would be a new event, routed as whatever type the replayer wrote.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import Invalid

from .base import (
    DEFAULT_TOLERANCE_SECONDS,
    Event,
    Inbound,
    Option,
    Preset,
    Secret,
    any_matches,
    b64decode_or_none,
    check_fresh,
    hex_or_none,
    hmac_digest,
    missing,
    payload_of,
    rejected,
    unix_seconds,
)

_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def _header_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_HEADER_NAME.fullmatch(value))


class GenericHmac(Preset):
    name = "generic-hmac"
    receiver_chooses_secret = True
    label = "Generic HMAC"
    setup_help = "The shared secret the sender signs with."
    options = (
        Option("header", "an HTTP header name", default="X-Signature", check=_header_name),
        Option("algorithm", "", default="sha256", choices=("sha1", "sha256", "sha512")),
        Option("encoding", "", default="hex", choices=("hex", "base64")),
        Option(
            "prefix",
            "at most 32 characters before the signature (sha256=)",
            default="",
            check=lambda v: isinstance(v, str) and len(v) <= 32,
        ),
        Option("signed", "", default="body", choices=("body", "timestamp_body")),
        Option(
            "timestamp_header", "an HTTP header name", default="X-Timestamp", check=_header_name
        ),
        Option(
            "separator",
            "at most 8 characters between timestamp and body",
            default=".",
            check=lambda v: isinstance(v, str) and len(v) <= 8,
        ),
        Option(
            "tolerance_seconds",
            "seconds, 1 to 86400",
            default=DEFAULT_TOLERANCE_SECONDS,
            check=lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 86400,
        ),
        Option(
            "id_header",
            "an HTTP header name",
            default="",
            check=lambda v: v == "" or _header_name(v),
        ),
        Option(
            "type_header",
            "an HTTP header name",
            default="",
            check=lambda v: v == "" or _header_name(v),
        ),
    )

    def verify(
        self, inbound: Inbound, secrets: Sequence[Secret], config: Mapping[str, Any]
    ) -> None:
        header = inbound.header(config["header"])
        if not header:
            raise missing(config["header"])
        text = header.removeprefix(config["prefix"]) if config["prefix"] else header
        if config["prefix"] and text == header:
            raise rejected(f"{config['header']} must start with {config['prefix']!r}.")
        given = (
            hex_or_none(text.lower()) if config["encoding"] == "hex" else b64decode_or_none(text)
        )
        if given is None:
            raise rejected(f"{config['header']} is not {config['encoding']}.")
        if config["signed"] == "timestamp_body":
            timestamp = inbound.header(config["timestamp_header"])
            if not timestamp:
                raise missing(config["timestamp_header"])
            check_fresh(unix_seconds(timestamp), inbound.now, config["tolerance_seconds"])
        message = self.signed_material(inbound, config)
        expected = [
            hmac_digest(secret.text.encode(), message, config["algorithm"]) for secret in secrets
        ]
        if not any_matches(expected, [given]):
            raise rejected()

    def signed_material(self, inbound: Inbound, config: Mapping[str, Any]) -> bytes:
        if config["signed"] == "timestamp_body":
            timestamp = inbound.header(config["timestamp_header"])
            return (timestamp + config["separator"]).encode() + inbound.body
        return inbound.body

    def clean_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        cleaned = super().clean_config(config)
        for option in ("id_header", "type_header"):
            if cleaned.get(option):
                # Unsigned: a captured request replayed with a new id would be a new event,
                # routed as whatever type the replayer wrote.
                raise Invalid(
                    "the signature covers only the body (and the timestamp), not this header: "
                    "events are named by their signed bytes, and routed by form or payload",
                    field=f"config.{option}",
                )
        return cleaned

    def unverified_fields(self, event: Event, config: Mapping[str, Any]) -> tuple[str, ...]:
        # A source saved with type_header before it was refused still routes by it, unverified.
        return ("event_type",) if event.event_type else ()

    def describe(self, inbound: Inbound, config: Mapping[str, Any]) -> Event:
        event_id = (
            inbound.header(config["id_header"]) if config["id_header"] else ""
        ) or hashlib.sha256(inbound.body).hexdigest()[:32]
        event_type = inbound.header(config["type_header"]) if config["type_header"] else ""
        return Event(event_id, event_type, payload_of(inbound))
