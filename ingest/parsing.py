"""Turn a verified body into an IngestInput, refusing anything we could not store faithfully.

PostgreSQL's jsonb cannot hold NUL characters, lone surrogates, NaN or Infinity; Python's json
accepts all of them. They are refused here, as bad input, so they never become a 500 later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from core import storable
from core.blobs import STORED_OBJECT_KEY
from core.errors import Invalid, Unsupported
from core.json_input import NUL_REFUSED, SURROGATE_REFUSED, decode_json
from core.timeutil import parse_aware_datetime

MAX_JSON_DEPTH = 64
MAX_FORM_FIELDS = 1000
_FIELD_LIMITS = {"source": 64, "form_id": 128, "event_type": 128}


@dataclass(frozen=True)
class IngestInput:
    payload: dict[str, Any]
    source: str
    form_id: str = ""
    event_type: str = ""
    submission_id: str | None = None
    submitted_at: datetime | None = None
    attachments: tuple[Any, ...] = ()
    destinations: tuple[str, ...] | None = None
    # Fields no signature covered (a provider's type header): stored as such.
    unverified_fields: tuple[str, ...] = ()
    # Who chose submission_id: "submission_id" (the body) or "Idempotency-Key" (a header), when
    # a client did. Its reuse with another payload is a conflict, never a silent duplicate.
    id_chosen_by: str = ""


def _invalid(message: str, code: str = "invalid_payload") -> Invalid:
    return Invalid(message, code=code)


# --- content types ---

JSON = "json"
FORM = "form"


def body_format(content_type: str) -> str:
    media_type = content_type.split(";", 1)[0].strip().lower()
    # No Content-Type at all: JSON, the format every documented client sends.
    if media_type in ("", "application/json") or media_type.endswith("+json"):
        return JSON
    if media_type == "application/x-www-form-urlencoded":
        return FORM
    raise Unsupported(
        f"Content-Type {media_type!r} is not accepted; send application/json, "
        "application/x-www-form-urlencoded or (an envelope with files) multipart/form-data.",
    )


# --- decoding ---


def _check_storable_text(text: str) -> None:
    if not storable.is_storable_text(text):
        raise _invalid(NUL_REFUSED if "\x00" in text else SURROGATE_REFUSED)


def decode_json_object(body: bytes) -> dict[str, Any]:
    value = decode_json(body, max_depth=MAX_JSON_DEPTH, depth_code="invalid_payload")
    if not isinstance(value, dict):
        raise _invalid(f"The body must be a JSON object, not a {type(value).__name__}.")
    return value


def decode_form(body: bytes) -> dict[str, Any]:
    pairs = form_pairs(body)
    if not pairs:
        raise _invalid("The form body has no fields.")
    return form_fields(pairs)


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """The name/value pairs of a form-encoded body, in order (an empty body has none)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid("The form body is not valid UTF-8.") from None
    try:
        return parse_qsl(
            text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="strict"
        )
    except ValueError as exc:
        raise _invalid(f"The form body cannot be parsed: {exc}") from None


def form_fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form fields as a payload: a repeated field (checkboxes) becomes a list."""
    fields: dict[str, Any] = {}
    for name, value in pairs:
        _check_storable_text(name + value)
        if name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = value
    return fields


def decode_body(body: bytes, content_type: str) -> dict[str, Any]:
    if body_format(content_type) == FORM:
        return decode_form(body)
    return decode_json_object(body)


# --- fields ---


def clean_label(value: Any, field: str, *, origin: str = "") -> str:
    """A short identifier-like string: source, form_id, event_type."""
    where = origin or field
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{where} must be a string.")
    value = value.strip()
    limit = _FIELD_LIMITS[field]
    if len(value) > limit:
        raise _invalid(f"{where} is longer than {limit} characters.")
    if not value.isprintable():
        raise _invalid(f"{where} contains control characters.")
    return value


def clean_submission_id(value: Any, *, origin: str = "submission_id") -> str | None:
    if value is None:
        return None
    if not storable.is_public_id(value):
        raise _invalid(
            f"{origin} must be 1-64 characters of letters, digits, '.', '_', ':' or '-' "
            "(a UUIDv7 is best)."
        )
    return value


def _clean_submitted_at(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = parse_aware_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise _invalid("submitted_at must be ISO 8601 with a zone, e.g. 2025-08-25T18:00:00Z.")
    moment = storable.utc_datetime(parsed)
    if moment is None:
        raise _invalid("submitted_at is outside the years 1-9999 (in UTC).")
    return moment


def _clean_destinations(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _invalid("destinations must be a list of destination names.")
    return tuple(dict.fromkeys(value))


def _clean_attachments(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid("attachments must be a list.")
    # `key` names an object FormBridge stored (core.blobs): links are signed for it, inline
    # destinations read it, erase and purge delete it. A sender may not name one.
    if any(isinstance(item, dict) and STORED_OBJECT_KEY in item for item in value):
        raise _invalid(
            f"attachments[].{STORED_OBJECT_KEY} is reserved for files FormBridge stores; "
            "describe a file of yours with url, filename, content_type, size."
        )
    return tuple(value)


def is_envelope(document: dict[str, Any]) -> bool:
    """A body whose `payload` is an object is the canonical envelope; any other is the payload."""
    return isinstance(document.get("payload"), dict)


def _event_type_of(document: dict[str, Any]) -> str:
    """A raw payload's own `event_type` field, when it has a string one, routes it."""
    value = document.get("event_type")
    return clean_label(value, "event_type") if isinstance(value, str) else ""


def ingest_input_from_document(
    document: dict[str, Any], *, form_id_header: str, source_header: str, default_source: str
) -> IngestInput:
    """POST /v1/ingest: an envelope, or a raw payload described by X-Form-Id and X-Source."""
    header_form_id = clean_label(form_id_header, "form_id", origin="X-Form-Id")
    header_source = clean_label(source_header, "source", origin="X-Source")
    if not is_envelope(document):
        return IngestInput(
            payload=document,
            source=header_source or default_source,
            form_id=header_form_id,
            event_type=_event_type_of(document),
        )
    return IngestInput(
        payload=document["payload"],
        source=clean_label(document.get("source"), "source") or header_source or default_source,
        form_id=clean_label(document.get("form_id"), "form_id") or header_form_id,
        event_type=clean_label(document.get("event_type"), "event_type"),
        submission_id=clean_submission_id(document.get("submission_id")),
        id_chosen_by="submission_id" if document.get("submission_id") else "",
        submitted_at=_clean_submitted_at(document.get("submitted_at")),
        attachments=_clean_attachments(document.get("attachments")),
        destinations=_clean_destinations(document.get("destinations")),
    )


def event_input_from_document(
    document: dict[str, Any], *, idempotency_key: str, form_id_header: str, source_header: str
) -> IngestInput:
    """POST /v1/events: the whole body is the event; an Idempotency-Key header names it."""
    return IngestInput(
        payload=document,
        source=clean_label(source_header, "source", origin="X-Source") or "api",
        form_id=clean_label(form_id_header, "form_id", origin="X-Form-Id"),
        event_type=_event_type_of(document),
        submission_id=clean_submission_id(idempotency_key or None, origin="Idempotency-Key"),
        id_chosen_by="Idempotency-Key" if idempotency_key else "",
    )
