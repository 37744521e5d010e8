"""The one builder of DeliveryAttempt rows: what a receiver sent, made safe to store and show.

A receiver is not trusted: its body may hold NULs or invalid UTF-8 (PostgreSQL refuses both),
and it may echo our credentials back. Every text is escaped and capped here, and every secret of
the destination is cut out, so a read-only key or an admin viewer never sees one.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from core.storable import safe_text

from .connectors.base import RESPONSE_BODY_LIMIT, DestinationSnapshot, Job, Outcome
from .connectors.registry import connector_for
from .models import AttemptOutcome

REDACTED = "[redacted]"
# Shorter values are too likely to occur by chance ("prod", "json") to be cut out of bodies.
_MIN_SECRET_LENGTH = 8
_MAX_HEADERS = 50
_HEADER_LIMIT = 512
ERROR_LIMIT = 2000


def redact_url(url: str) -> str:
    """The URL with every query value replaced: tokens often ride there (`?key=...`)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if not parts.query:
        return url
    query = urlencode(
        [(name, REDACTED) for name, _ in parse_qsl(parts.query, keep_blank_values=True)],
        safe="[]",
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def secrets_of(destination: DestinationSnapshot) -> tuple[str, ...]:
    """Every credential-like value a destination's requests carry."""
    candidates = [destination.auth_secret, destination.signing_secret]
    candidates += destination.previous_signing_secrets
    candidates += [v for v in (destination.config.get("headers") or {}).values()]
    for key in connector_for(destination.kind).secret_config_keys:
        value = destination.config.get(key)
        candidates += [value, *_url_secrets(value)]
    url = destination.config.get("url") or ""
    with contextlib.suppress(ValueError):  # a URL that does not parse has no query values
        candidates += [v for _, v in parse_qsl(urlsplit(url).query)]
    return tuple(
        dict.fromkeys(v for v in candidates if isinstance(v, str) and len(v) >= _MIN_SECRET_LENGTH)
    )


def _url_secrets(value: Any) -> list[str]:
    """The path segments of a credential URL (a Slack webhook's T.../B.../token): any one of
    them may be echoed back alone."""
    if not isinstance(value, str):
        return []
    with contextlib.suppress(ValueError):
        return [part for part in urlsplit(value).path.split("/") if len(part) >= 16]
    return []


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _safe_headers(headers: dict[str, str], secrets: tuple[str, ...]) -> dict[str, str]:
    return {
        safe_text(str(name), limit=128): _scrub(safe_text(str(value), limit=_HEADER_LIMIT), secrets)
        for name, value in list(headers.items())[:_MAX_HEADERS]
    }


def _row(job: Job, outcome: Outcome, **texts: Any) -> dict[str, Any]:
    status = outcome.status_code
    return _columns(
        job.delivery_id,
        job.destination.tenant_id,
        number=job.attempt_number,
        started_at=outcome.started_at,
        duration_ms=max(0, outcome.duration_ms),
        response_status=status if isinstance(status, int) and 0 <= status < 1000 else None,
        outcome=outcome.outcome,
        **texts,
    )


def _columns(delivery_id, tenant_id: str, **columns: Any) -> dict[str, Any]:
    return {"delivery_id": delivery_id, "tenant_id": tenant_id, **columns}


def pull_attempt_row(delivery_id, tenant_id: str, *, number: int, at) -> dict[str, Any]:
    """An inbox event taken and acknowledged by its consumer, logged like a pushed attempt."""
    return _columns(
        delivery_id,
        tenant_id,
        number=number,
        started_at=at,
        duration_ms=0,
        response_status=None,
        outcome=AttemptOutcome.SUCCESS,
        request_method="ACK",
        request_url="/v1/ack",
        request_headers={},
        response_headers={},
        response_body="",
        error="",
    )


def attempt_row(job: Job, outcome: Outcome) -> dict[str, Any]:
    """The DeliveryAttempt columns for one try, every text storable and scrubbed."""
    secrets = secrets_of(job.destination)
    return _row(
        job,
        outcome,
        request_method=safe_text(outcome.request_method, limit=8),
        request_url=_scrub(safe_text(redact_url(outcome.request_url), limit=2048), secrets),
        request_headers=_safe_headers(outcome.request_headers, secrets),
        response_headers=_safe_headers(outcome.response_headers, secrets),
        response_body=_scrub(safe_text(outcome.response_body, limit=RESPONSE_BODY_LIMIT), secrets),
        error=_scrub(safe_text(outcome.error, limit=ERROR_LIMIT), secrets),
    )


def without_secret(outcome: Outcome, secret: str) -> Outcome:
    """The outcome with one more secret cut out of its texts (a credential read again mid-send,
    which the job's destination does not list)."""
    if len(secret) < _MIN_SECRET_LENGTH:
        return outcome
    for name in ("error", "response_body", "request_url"):
        setattr(outcome, name, _scrub(getattr(outcome, name), (secret,)))
    for name in ("request_headers", "response_headers"):
        setattr(
            outcome, name, {k: _scrub(str(v), (secret,)) for k, v in getattr(outcome, name).items()}
        )
    return outcome


def safe_error(job: Job, outcome: Outcome) -> str:
    """An outcome's error as it may be logged: storable, capped, the destination's secrets cut."""
    return _scrub(safe_text(outcome.error, limit=500), secrets_of(job.destination))


def minimal_attempt_row(job: Job, outcome: Outcome, reason: str) -> dict[str, Any]:
    """What is left to record when the full row could not be stored: no remote text at all."""
    return _row(
        job,
        outcome,
        request_method="",
        request_url="",
        request_headers={},
        response_headers={},
        response_body="",
        error=reason[:ERROR_LIMIT],
    )
