"""The pull inbox: deliveries to an `inbox` destination wait until a consumer reads and acks them.

States: pending (visible), in_flight (leased to one consumer until lease_until, then visible
again), succeeded (acknowledged), dead (leased max_attempts times without an ack, like an SQS
redrive policy). A plain read changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.cursors import decode_cursor, encode_cursor
from core.db import bulk_insert
from core.errors import NotFound
from core.ids import new_uuid7
from core.timeutil import epoch_ms
from reporting import services as reporting
from tenants.models import Tenant

from .. import lifecycle
from ..attempts import pull_attempt_row
from ..models import Delivery, DeliveryAttempt, DeliveryStatus, Destination

MAX_LIMIT = 500
MAX_LEASE_SECONDS = 12 * 3600


@dataclass(frozen=True)
class InboxPage:
    events: list[dict]
    next_cursor: str | None


def _visible_parts(destination: Destination, now: datetime) -> tuple[QuerySet, QuerySet]:
    """The visible events, as two index range reads: the waiting ones (delivery_inbox_waiting)
    and those whose lease ran out (delivery_leased). One filter over both would walk every
    event leased and not yet expired, thousands under a busy consumer, on each read."""
    waiting = Delivery.objects.filter(
        destination=destination, status=DeliveryStatus.PENDING, next_attempt_at__isnull=True
    )
    lapsed = Delivery.objects.filter(
        destination=destination, status=DeliveryStatus.IN_FLIGHT, lease_until__lt=now
    )
    return waiting, lapsed


def _in_order(rows: QuerySet, cursor: str | None) -> QuerySet:
    """Oldest first, with their submissions, after the cursor if there is one."""
    rows = rows.select_related("submission").order_by("created_at", "id")
    if cursor:
        after, after_id = decode_cursor(cursor)
        rows = rows.filter(Q(created_at__gt=after) | Q(created_at=after, id__gt=after_id))
    return rows


def _oldest(parts: Iterable[QuerySet], limit: int) -> list[Delivery]:
    """The first `limit` of the parts together, oldest first (each part is read in that order)."""
    rows = [row for part in parts for row in part[:limit]]
    return sorted(rows, key=lambda d: (d.created_at, d.id))[:limit]


def _event(delivery: Delivery) -> dict:
    submission = delivery.submission
    return {
        "event_id": submission.submission_id,
        "event_type": submission.event_type,
        "form_id": submission.form_id,
        "source": submission.source,
        "payload": submission.payload,
        "timestamp": epoch_ms(submission.received_at),
        "attempt": delivery.attempts,
    }


def inbox_read(
    *,
    destination: Destination,
    limit: int = 100,
    cursor: str | None = None,
    lease_seconds: int | None = None,
    now: datetime | None = None,
) -> InboxPage:
    """Visible events oldest first; with lease_seconds, each is this caller's alone until then."""
    now = now or timezone.now()
    waiting, lapsed = (_in_order(part, cursor) for part in _visible_parts(destination, now))
    if lease_seconds is None:
        page = _oldest([waiting, lapsed], limit)  # a plain read changes nothing
    else:
        # Lapsed leases wait again first (their own short statement): the lease then reads the
        # waiting index alone.
        lifecycle.return_lapsed_pull(Delivery.objects.filter(destination=destination), now=now)
        page = _lease(waiting, destination, limit, lease_seconds, now)
    next_cursor = (
        encode_cursor(page[-1].created_at, page[-1].id) if len(page) == limit and page else None
    )
    return InboxPage(events=[_event(d) for d in page], next_cursor=next_cursor)


def _lease(
    waiting: QuerySet, destination: Destination, limit: int, seconds: int, now: datetime
) -> list:
    with transaction.atomic():
        # SKIP LOCKED: competing consumers split the inbox instead of queueing on each other.
        candidates = list(waiting.select_for_update(skip_locked=True, of=("self",))[:limit])
        exhausted = [
            d
            for d in candidates
            if destination.max_attempts and d.attempts >= destination.max_attempts
        ]
        if exhausted:
            lifecycle.exhaust_pull(
                [d.id for d in exhausted],
                reason=f"leased {destination.max_attempts} times without an ack",
                now=now,
            )
            _count(exhausted, DeliveryStatus.DEAD, now)
        leased = [d for d in candidates if d not in exhausted]
        lifecycle.lease_pull(
            [d.id for d in leased],
            token=new_uuid7(),
            until=now + timedelta(seconds=seconds),
            now=now,
        )
    for delivery in leased:
        delivery.attempts += 1
    return leased


@dataclass(frozen=True)
class AckResult:
    acknowledged: int  # events now acknowledged, including ones acknowledged before


def inbox_ack(*, tenant: Tenant, destination: Destination, event_ids: Iterable[str]) -> AckResult:
    """Acknowledge events of this tenant's inbox; all or nothing, and idempotent.

    An id that is not an event of this inbox (another tenant's, say) is a 404 and nothing is
    acknowledged, so a typo never half-applies a batch.
    """
    wanted = list(dict.fromkeys(event_ids))
    now = timezone.now()
    with transaction.atomic():
        deliveries = list(
            Delivery.objects.select_for_update()
            .filter(
                tenant=tenant,
                destination=destination,
                submission__tenant=tenant,
                submission__submission_id__in=wanted,
            )
            .select_related("submission")
        )
        found = {d.submission.submission_id for d in deliveries}
        unknown = [event_id for event_id in wanted if event_id not in found]
        if unknown:
            raise NotFound(
                f"No event {unknown[0]!r} in this inbox"
                + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                + "; nothing was acknowledged.",
                code="event_not_found",
            )
        open_ones = [d for d in deliveries if d.status in lifecycle.ACKABLE]
        lifecycle.ack([d.id for d in open_ones], now=now)
        # The attempt log shows who took the event and when, as for pushed deliveries.
        bulk_insert(
            DeliveryAttempt,
            [
                pull_attempt_row(d.id, tenant.id, number=max(d.attempts, 1), at=now)
                for d in open_ones
            ],
        )
        _count(open_ones, DeliveryStatus.SUCCEEDED, now)
    return AckResult(acknowledged=len(deliveries))


def _count(deliveries: list[Delivery], status: str, now: datetime) -> None:
    counter = lifecycle.COUNTER_OF_STATUS[status]
    reporting.daily_metrics_add(
        reporting.Bump(d.tenant_id, now.date(), d.submission.form_id, counter) for d in deliveries
    )
