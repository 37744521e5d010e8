"""A destination's health, owned here: its failures in a row, since when it fails, its circuit,
and whether it is enabled and why not. Nothing else writes those fields (tests/test_structure.py
holds the wall): callers say what happened (a batch's outcomes, an operator's switch, a
deletion) and this module decides what it means.

- Failures in a row open the circuit for DELIVERY_CIRCUIT_COOLDOWN_SECONDS once there are
  DELIVERY_CIRCUIT_FAILURES of them; then one probe at a time (half-open) until a success.
- A destination failing for DELIVERY_DISABLE_AFTER_DAYS without one success, or one whose
  connector says it is gone (a 410, a revoked token), is disabled, with the reason.
- An operator's enable resets it all; disable and delete keep the record of why.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings

from . import throttle
from .models import Destination
from .routes import forget_routes

logger = logging.getLogger(__name__)

# The fields this module alone writes.
FIELDS = (
    "enabled", "consecutive_failures", "failing_since", "circuit_open_until", "disabled_reason",
    "disabled_at",
)  # fmt: skip
OPERATOR_DISABLED = "disabled by an operator"
DELETED = "deleted"


@dataclass(frozen=True)
class Outcomes:
    """What a batch's sends to one destination came to."""

    succeeded: bool  # at least one success
    attempts: int
    gone: str = ""  # why the connector says the destination is gone, if it does


# --- reading: what the engine may send now ---


def allowance(destination: Destination, waiting: int, in_flight: int, now: datetime) -> int:
    """How many of this destination's due deliveries may be sent now."""
    if not destination.enabled:
        return 0
    if destination.circuit_open_until and destination.circuit_open_until > now:
        return 0
    if destination.consecutive_failures >= settings.DELIVERY_CIRCUIT_FAILURES:
        return 1 if in_flight == 0 else 0  # half-open: one probe at a time
    allowed = waiting
    if destination.max_concurrency:
        allowed = min(allowed, max(0, destination.max_concurrency - in_flight))
    return throttle.take(
        str(destination.id), wanted=allowed, limit=destination.rate_limit_per_second, now=now
    )


def resumes_at(destination: Destination, now: datetime, *, throttled_for: float) -> datetime | None:
    """When deliveries held back now may go: never by themselves while disabled (enabling
    resumes them), when the circuit closes, or after a throttle's pause."""
    if not destination.enabled:
        return None
    if destination.circuit_open_until and destination.circuit_open_until > now:
        return destination.circuit_open_until
    return now + timedelta(seconds=throttled_for)


# --- writing: what happened ---


def initial(*, enabled: bool, now: datetime) -> dict:
    """A new destination's health fields."""
    return {
        "enabled": enabled,
        "disabled_reason": "" if enabled else OPERATOR_DISABLED,
        "disabled_at": None if enabled else now,
    }


def record(sends: Iterable[tuple[UUID, bool, str]], now: datetime) -> None:
    """A batch's sends, each (destination id, succeeded, why the connector says it is gone): a
    success closes the circuit; failures count, open it, and in the end disable the destination.
    Runs in the caller's transaction."""
    outcomes = _by_destination(sends)
    healthy = {
        destination_id
        for destination_id, outcome in outcomes.items()
        if outcome.succeeded and not outcome.gone
    }
    # The common case, a healthy destination staying healthy, writes (and locks) nothing.
    Destination.objects.filter(id__in=healthy).exclude(
        consecutive_failures=0, failing_since=None, circuit_open_until=None
    ).update(consecutive_failures=0, failing_since=None, circuit_open_until=None, updated_at=now)
    unhealthy = [destination_id for destination_id in outcomes if destination_id not in healthy]
    for destination in Destination.objects.select_for_update().filter(id__in=unhealthy):
        _record_one(destination, outcomes[destination.id], now)


def _record_one(destination: Destination, outcome: Outcomes, now: datetime) -> None:
    gone = outcome.gone
    if outcome.succeeded:
        _reset_failures(destination)
    else:
        destination.consecutive_failures += outcome.attempts
        destination.failing_since = destination.failing_since or now
        if destination.consecutive_failures >= settings.DELIVERY_CIRCUIT_FAILURES:
            cooldown = timedelta(seconds=settings.DELIVERY_CIRCUIT_COOLDOWN_SECONDS)
            destination.circuit_open_until = now + cooldown
        failing_for = now - destination.failing_since
        if failing_for >= timedelta(days=settings.DELIVERY_DISABLE_AFTER_DAYS):
            gone = gone or (
                f"failing since {destination.failing_since:%Y-%m-%d %H:%M} UTC without a "
                f"success ({destination.consecutive_failures} failures in a row)"
            )
    newly_disabled = bool(gone) and destination.enabled
    if newly_disabled:
        _disable(destination, gone, now)
        logger.warning(
            "destination disabled",
            extra={
                "tenant_id": destination.tenant_id,
                "destination_id": str(destination.id),
                "reason": gone,
            },
        )
    destination.save()
    if newly_disabled:
        # This process stops routing to it at once; others within TENANT_CACHE_SECONDS, and
        # their deliveries to it are parked at claim time meanwhile.
        forget_routes(destination.tenant_id)


def enable(destination: Destination) -> None:
    """An operator's enable: a fresh start (failures, circuit and the reason forgotten)."""
    destination.enabled = True
    _reset_failures(destination)
    destination.disabled_reason = ""
    destination.disabled_at = None


def disable(destination: Destination, now: datetime) -> None:
    """An operator's disable; a reason already recorded (the connector's) is kept."""
    _disable(destination, destination.disabled_reason or OPERATOR_DISABLED, now)


def deleted(destination: Destination, now: datetime) -> None:
    _disable(destination, DELETED, now)


def _disable(destination: Destination, reason: str, now: datetime) -> None:
    destination.enabled = False
    destination.disabled_reason = reason
    destination.disabled_at = now


def _reset_failures(destination: Destination) -> None:
    destination.consecutive_failures = 0
    destination.failing_since = None
    destination.circuit_open_until = None


def _by_destination(sends: Iterable[tuple[UUID, bool, str]]) -> dict[UUID, Outcomes]:
    summed: dict[UUID, Outcomes] = {}
    for destination_id, succeeded, gone in sends:
        before = summed.get(destination_id, Outcomes(succeeded=False, attempts=0))
        summed[destination_id] = Outcomes(
            succeeded=before.succeeded or succeeded,
            attempts=before.attempts + 1,
            gone=before.gone or gone,
        )
    return summed
