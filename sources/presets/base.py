"""What a preset is: the provider's verification rules, and where its event id and type live.

A preset verifies a request over its raw bytes, constant-time, against every active secret of
the source (rotation overlap), then names the event: the provider's own id (so the provider's
retry is a duplicate) and its type (so destination filters can route on it). Nothing here does
I/O: a provider waits for our answer, so the request path costs a few HMACs and a parse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from core.errors import Invalid, Unauthenticated
from ingest.parsing import decode_body, decode_form, decode_json_object

DEFAULT_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class Inbound:
    """A request as a preset sees it: raw bytes, lower-case header names, the URL it came to."""

    body: bytes
    headers: Mapping[str, str]
    url: str  # absolute, as the provider called it (Twilio signs it)
    content_type: str
    now: datetime

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "").strip()

    @property
    def media_type(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Event:
    """A verified request, named: stored with this id and type, or answered with `reply`."""

    event_id: str
    event_type: str
    payload: dict[str, Any]
    # Set when the provider asks a question instead of sending an event (Slack's URL check):
    # answered with this JSON, nothing stored.
    reply: dict[str, Any] | None = None


@dataclass(frozen=True)
class Secret:
    """A source secret as presets take it: the text the operator pasted (or we generated)."""

    text: str

    def standard_webhooks_key(self) -> bytes | None:
        """The HMAC key of a `whsec_<base64>` secret, None if it is not one."""
        try:
            return base64.b64decode(self.text.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            return None


def rejected(message: str = "The signature does not match.") -> Unauthenticated:
    return Unauthenticated(message, code="invalid_signature")


def missing(*headers: str) -> Unauthenticated:
    return Unauthenticated(
        f"Missing header(s): {', '.join(headers)}.", code="missing_signature_headers"
    )


def check_fresh(signed_at: int | None, now: datetime, tolerance: int) -> None:
    """The signature's own timestamp (Unix seconds) within ±tolerance of now."""
    if signed_at is None:
        raise Unauthenticated(
            "The signature timestamp is not Unix seconds.", code="invalid_timestamp"
        )
    skew = abs(now.timestamp() - signed_at)
    if skew > tolerance:
        raise Unauthenticated(
            f"The signature is {int(skew)} s from server time; the window is ±{tolerance} s.",
            code="stale_timestamp",
        )


def unix_seconds(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


def any_matches(expected: Iterable[bytes], given: Sequence[bytes]) -> bool:
    """Constant-time: every expected digest against every given one, no early exit, so the time
    taken says nothing about which secret or which signature matched."""
    matched = False
    for digest in expected:
        for candidate in given:
            matched |= hmac.compare_digest(digest, candidate)
    return matched


def hmac_digest(key: bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def b64decode_or_none(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def hex_or_none(text: str) -> bytes | None:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


# --- the body as a payload: the same decoding, and refusals, as /v1/ingest ---

json_object = decode_json_object
form_fields = decode_form


def payload_of(inbound: Inbound) -> dict[str, Any]:
    """The body as JSON or urlencoded fields, by its Content-Type."""
    return decode_body(inbound.body, inbound.content_type)


def text_at(document: Mapping[str, Any], *path: str) -> str:
    """document[path[0]][path[1]]... as text, "" where it is missing or not a scalar."""
    node: Any = document
    for key in path:
        if not isinstance(node, Mapping):
            return ""
        node = node.get(key)
    return str(node) if isinstance(node, str | int) and not isinstance(node, bool) else ""


# --- presets ---


@dataclass(frozen=True)
class Option:
    """A preset setting an operator may give (generic HMAC's header name, say)."""

    name: str
    help: str
    default: Any = None
    choices: tuple[str, ...] = ()
    check: Callable[[Any], bool] | None = None


class Preset:
    """One provider's rules. Subclasses set the class attributes and implement verify/describe."""

    name: ClassVar[str]
    label: ClassVar[str]
    # Where to find the secret, shown to the operator who sets the source up.
    setup_help: ClassVar[str] = ""
    # The provider lets the receiver choose the secret: one is generated when none is given.
    generates_secret: ClassVar[bool] = False
    # The receiver types the secret into the provider (not given by it): it must be strong.
    receiver_chooses_secret: ClassVar[bool] = False
    options: ClassVar[tuple[Option, ...]] = ()
    docs_url: ClassVar[str] = ""
    # The provider's event id is inside what its signature covers (Stripe's body, Standard
    # Webhooks' webhook-id): it may name the event. Where it is an unsigned header (GitHub,
    # Shopify, Twilio), anyone replaying captured bytes could pick a new one, so the event is
    # named by the signed bytes instead (signed_digest).
    id_is_signed: ClassVar[bool] = False
    # The event type comes from a header the signature does not cover (GitHub, Shopify): it
    # still routes, and the stored submission records it as unverified.
    type_is_signed: ClassVar[bool] = True

    def clean_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The options, checked, with their defaults; unknown keys refused."""
        known = {option.name: option for option in self.options}
        unknown = sorted(set(config) - set(known))
        if unknown:
            raise Invalid(
                f"{self.name} takes no option {unknown[0]!r}"
                + (f" (it takes {', '.join(known)})" if known else ""),
                field=f"config.{unknown[0]}",
            )
        cleaned = {}
        for option in self.options:
            value = config.get(option.name, option.default)
            if option.choices and value not in option.choices:
                raise Invalid(
                    f"must be one of {', '.join(option.choices)}", field=f"config.{option.name}"
                )
            if option.check and value is not None and not option.check(value):
                raise Invalid(option.help, field=f"config.{option.name}")
            cleaned[option.name] = value
        return cleaned

    def generate_secret(self) -> str:
        raise NotImplementedError

    def verify(
        self, inbound: Inbound, secrets: Sequence[Secret], config: Mapping[str, Any]
    ) -> None:
        """Raise Unauthenticated unless the request is signed by one of `secrets`."""
        raise NotImplementedError

    def describe(self, inbound: Inbound, config: Mapping[str, Any]) -> Event:
        """The verified request as an event: its id, type and payload."""
        raise NotImplementedError

    def signed_material(self, inbound: Inbound, config: Mapping[str, Any]) -> bytes:
        """What the signature covers (the body, unless a preset signs more)."""
        return inbound.body

    def unverified_fields(self, event: Event, config: Mapping[str, Any]) -> tuple[str, ...]:
        """The event's fields no signature vouched for."""
        return ("event_type",) if event.event_type and not self.type_is_signed else ()

    def event_key(self, event: Event, inbound: Inbound, config: Mapping[str, Any]) -> str:
        """What names the event for deduplication: the provider's id when it is signed, else a
        digest of the signed bytes (the same bytes are the same event, whatever id header)."""
        if self.id_is_signed and event.event_id:
            return event.event_id
        return hashlib.sha256(self.signed_material(inbound, config)).hexdigest()[:32]
