"""Validation of destination settings, shared by the command, the admin and the API."""

from __future__ import annotations

import re
from typing import Any

from core import secret_refs
from core.errors import Invalid, Unavailable
from tenants.bindings import secret_binding
from tenants.models import Tenant

from . import ordering, signing
from .connectors import aws_targets
from .connectors.registry import available_kinds, connector_for
from .models import FilesAs
from .routing import FILTER_FIELDS

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
MAX_SCHEDULE_LENGTH = 20
MAX_DELAY_SECONDS = 7 * 86400


class DestinationInvalid(Invalid):
    """A destination setting we refuse; `field` names it as the API does (config.url)."""

    code = "invalid_destination"

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(message, field=field, code=code)


def clean_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise DestinationInvalid(
            "name", "use 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter"
        )
    return name


def clean_kind(kind: str) -> str:
    if kind not in available_kinds():
        raise DestinationInvalid(
            "kind", f"{kind!r} is not available; choose from {', '.join(available_kinds())}"
        )
    return kind


def clean_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise DestinationInvalid("config", "must be an object")
    try:
        return connector_for(kind).validate(config)
    except Invalid as exc:
        raise DestinationInvalid(
            f"config.{exc.field}" if exc.field else "config", exc.message
        ) from None


def clean_targets(tenant: Tenant, kind: str, config: dict[str, Any]) -> None:
    """The AWS resources the config reaches with FormBridge's own credentials must be granted to
    the tenant by an operator (aws_targets)."""
    try:
        refused = aws_targets.ungranted(connector_for(kind), config, tenant)
    except aws_targets.TargetsUnknown as exc:
        raise Unavailable(
            f"cannot check the destination's AWS target now ({exc}); retry shortly",
            code="aws_unavailable",
            retry_after=5,
        ) from None
    if refused is not None:
        raise DestinationInvalid(
            f"config.{refused.field}",
            aws_targets.refusal_message(tenant.id, refused),
            code="target_not_allowed",
        )


def clean_auth(
    tenant: Tenant,
    kind: str,
    config: dict[str, Any],
    mode: str,
    auth_config: dict[str, Any],
    secret: str,
) -> dict[str, Any]:
    reference = secret_refs.is_reference(secret)
    if reference:
        # Resolved when used: its form and its tenant's right to it are checked now.
        try:
            secret_refs.validate(secret, secret_binding(tenant))
        except Invalid as exc:
            code = exc.code if isinstance(exc, secret_refs.NotAllowed) else None
            raise DestinationInvalid("auth_secret", exc.message, code=code) from None
    try:
        return connector_for(kind).validate_auth(
            config, mode, dict(auth_config or {}), secret, reference=reference
        )
    except Invalid as exc:
        raise DestinationInvalid(exc.field or "auth_secret", exc.message) from None


def clean_filter(rules: dict[str, Any] | None) -> dict[str, list[str]]:
    rules = rules or {}
    if not isinstance(rules, dict) or set(rules) - set(FILTER_FIELDS):
        raise DestinationInvalid("filter", f"may only name {', '.join(FILTER_FIELDS)}")
    cleaned = {}
    for field, patterns in rules.items():
        patterns = [patterns] if isinstance(patterns, str) else patterns
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
            raise DestinationInvalid("filter", f"{field} must be a string or a list of strings")
        if patterns:
            cleaned[field] = patterns
    return cleaned


def clean_retry(schedule: Any, max_attempts: Any) -> tuple[list[float] | None, int | None]:
    if schedule is not None:
        if (
            not isinstance(schedule, list)
            or not 0 < len(schedule) <= MAX_SCHEDULE_LENGTH
            or not all(isinstance(s, int | float) and 0 <= s <= MAX_DELAY_SECONDS for s in schedule)
        ):
            raise DestinationInvalid(
                "retry_schedule",
                f"a list of 1-{MAX_SCHEDULE_LENGTH} delays in seconds, each at most 7 days",
            )
        schedule = [float(s) for s in schedule]
    if max_attempts is not None and not (isinstance(max_attempts, int) and 1 <= max_attempts <= 50):
        raise DestinationInvalid("max_attempts", "a whole number from 1 to 50")
    return schedule, max_attempts


def clean_signing_secret(secret: str) -> str:
    if not signing.is_valid_secret(secret):
        raise DestinationInvalid(
            "signing_secret", "use whsec_ followed by base64 of at least 16 random bytes"
        )
    return secret


def clean_timeouts(timeout: Any, connect_timeout: Any) -> tuple[float, float]:
    if not isinstance(timeout, int | float) or not 1 <= timeout <= 60:
        raise DestinationInvalid("timeout_seconds", "from 1 to 60 seconds")
    if not isinstance(connect_timeout, int | float) or not 0.1 <= connect_timeout <= timeout:
        raise DestinationInvalid("connect_timeout_seconds", "from 0.1 s up to the timeout")
    return float(timeout), float(connect_timeout)


def clean_limit(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise DestinationInvalid(field, "a whole number from 0 (no limit) to 10000")
    return value


def clean_files_as(value: Any) -> str:
    if value not in FilesAs.values:
        raise DestinationInvalid("files_as", f"one of {', '.join(FilesAs.values)}")
    return value


def clean_ordering_key(kind: str, expression: Any) -> str:
    if not expression:
        return ""
    if connector_for(kind).waits_for_pull:
        raise DestinationInvalid("ordering_key", "a pulled destination is read in order already")
    try:
        return ordering.validate(expression)
    except ordering.OrderingKeyInvalid as exc:
        raise DestinationInvalid("ordering_key", str(exc)) from None
