"""The Delivery state machine: every change of a delivery's status, lease or next attempt.

Callers say what happened; these functions decide the new state and guard it (a lease token, the
statuses a move starts from). Nothing else writes `status`, `lease_until`, `lease_token` or
`next_attempt_at` (tests/test_structure.py holds that).

    pending ──lease──▶ in_flight ──settle──▶ succeeded | retrying | dead
       ▲                  │  └─park──▶ retrying (held back: throttled, circuit open, disabled)
       │                  └─(lease expires: due again)
    retrying ──(due)──▶ lease …            any open ──cancel──▶ cancelled
    succeeded | dead | cancelled | retrying ──replay──▶ pending (a new retry cycle)
    inbox: pending ──lease_pull──▶ in_flight ──ack──▶ succeeded; leased too often ──▶ dead;
           a lapsed lease ──return_lapsed_pull──▶ pending
    FIFO: a delivery behind its key's head ──wait_turn──▶ waiting, undue; when the head leaves
          the open set (succeeded, dead, cancelled) ──promote──▶ the next one is due
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.db import connection
from django.db.models import F, QuerySet, Subquery, Window
from django.db.models.functions import Greatest, RowNumber

from core import tracing

from . import retry
from .models import OPEN_STATUSES, WAITING_STATUSES, AttemptOutcome, Delivery, DeliveryStatus

# The daily figure each status a delivery arrives at moves (reporting.DailyMetric columns).
COUNTER_OF_STATUS = {
    DeliveryStatus.SUCCEEDED: "deliveries_succeeded",
    DeliveryStatus.RETRYING: "deliveries_retried",
    DeliveryStatus.DEAD: "deliveries_dead",
}
_NO_LEASE = {"lease_until": None, "lease_token": None}
# An inbox event its consumer may still acknowledge: open, or dead (a late ack still delivered
# it); not one cancelled (its destination deleted, its submission erased).
ACKABLE = (*OPEN_STATUSES, DeliveryStatus.DEAD)


def new(
    *,
    tenant_id: str,
    submission,
    destination_id,
    pull: bool,
    now: datetime,
    ordering_key: str | None = None,
) -> Delivery:
    """A pending delivery (unsaved): due at once, or, for a pull destination, when read. One with
    an ordering key is due too: the claim holds it back if it is not its key's head."""
    delivery = Delivery(
        tenant_id=tenant_id,
        submission=submission,
        destination_id=destination_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at=None if pull else now,
        ordering_key=ordering_key,
        created_at=now,
        updated_at=now,
    )
    if tracing.enabled():
        delivery.trace_context = tracing.context_of(
            "formbridge.delivery",
            {
                "formbridge.tenant_id": tenant_id,
                "formbridge.submission_id": submission.submission_id,
                "formbridge.delivery_id": str(delivery.id),
                "formbridge.destination_id": str(destination_id),
            },
        )
    return delivery


def lease(ids: Iterable[UUID], *, token: UUID, until: datetime, now: datetime) -> int:
    """Hand these (locked, due) deliveries to one sender until `until`."""
    return Delivery.objects.filter(id__in=list(ids)).update(
        status=DeliveryStatus.IN_FLIGHT, lease_until=until, lease_token=token, updated_at=now
    )


def requeue_expired(deliveries: QuerySet[Delivery], *, now: datetime) -> int:
    """Leases that ran out (their worker died or stalled): due again at once, as retries. The
    claim then reads due rows alone, in index order, instead of sorting them together with
    expired leases (which made every claim sort the whole backlog)."""
    return deliveries.filter(status=DeliveryStatus.IN_FLIGHT, lease_until__lt=now).update(
        status=DeliveryStatus.RETRYING, next_attempt_at=now, updated_at=now, **_NO_LEASE
    )


def park(ids: Iterable[UUID], *, when: datetime | None, now: datetime) -> None:
    """Hold claimed rows back until `when` (None: until their destination is enabled again)."""
    ids = list(ids)
    Delivery.objects.filter(id__in=ids, status=DeliveryStatus.IN_FLIGHT).update(
        status=DeliveryStatus.RETRYING, **_NO_LEASE
    )
    Delivery.objects.filter(id__in=ids).update(next_attempt_at=when, updated_at=now)


def next_state(
    *,
    outcome: AttemptOutcome,
    error: str,
    retry_after: float | None,
    cycle_attempt: int,
    retry_schedule: tuple[float, ...],
    max_attempts: int | None,
    now: datetime,
) -> dict:
    """Where an attempt's outcome takes its delivery: the columns to set."""
    if outcome == AttemptOutcome.SUCCESS:
        return {
            "status": DeliveryStatus.SUCCEEDED,
            "delivered_at": now,
            "next_attempt_at": None,
            "last_error": "",
        }
    if outcome == AttemptOutcome.PERMANENT:
        return {
            "status": DeliveryStatus.DEAD,
            "next_attempt_at": None,
            "last_error": f"permanent failure: {error}",
        }
    delay = retry.retry_delay(
        failed_attempts=cycle_attempt,
        schedule=retry_schedule,
        max_attempts=max_attempts,
        retry_after=retry_after,
    )
    if delay is None:
        return {
            "status": DeliveryStatus.DEAD,
            "next_attempt_at": None,
            "last_error": f"gave up after {cycle_attempt} attempts: {error}",
        }
    return {
        "status": DeliveryStatus.RETRYING,
        "next_attempt_at": now + timedelta(seconds=delay),
        "last_error": error,
    }


@dataclass(frozen=True)
class Settlement:
    """One attempt's result, for the delivery leased under `lease_token`."""

    delivery_id: UUID
    lease_token: UUID
    status_code: int | None
    state: dict  # from next_state()


def settle(settlements: list[Settlement], *, now: datetime) -> set[UUID]:
    """Count each attempt and move its delivery on, only while it is still under the lease the
    attempt was made with; returns the deliveries moved (the others lost their lease)."""
    moved: set[UUID] = set()
    # Successes with the same lease and status share their new state: one UPDATE for all.
    shared: dict[tuple, list[UUID]] = {}
    for s in settlements:
        if s.state["status"] == DeliveryStatus.SUCCEEDED:
            shared.setdefault((s.lease_token, s.status_code), []).append(s.delivery_id)
            continue
        if _leased(Delivery.objects.filter(id=s.delivery_id), s.lease_token).update(
            attempts=F("attempts") + 1,
            last_status_code=s.status_code,
            updated_at=now,
            **_NO_LEASE,
            **s.state,
        ):
            moved.add(s.delivery_id)
    for (token, status_code), ids in shared.items():
        still_leased = set(
            _leased(Delivery.objects.filter(id__in=ids), token).values_list("id", flat=True)
        )
        _leased(Delivery.objects.filter(id__in=still_leased), token).update(
            attempts=F("attempts") + 1,
            last_status_code=status_code,
            updated_at=now,
            status=DeliveryStatus.SUCCEEDED,
            delivered_at=now,
            next_attempt_at=None,
            last_error="",
            **_NO_LEASE,
        )
        moved |= still_leased
    return moved


def _leased(deliveries: QuerySet[Delivery], token: UUID) -> QuerySet[Delivery]:
    return deliveries.filter(lease_token=token, status=DeliveryStatus.IN_FLIGHT)


def dead(delivery_id: UUID, *, reason: str, now: datetime) -> None:
    """Dead-letter one delivery the engine cannot handle, whatever state it was in."""
    deliveries = Delivery.objects.filter(id=delivery_id)
    keys = _open_keys(deliveries)
    deliveries.update(
        status=DeliveryStatus.DEAD,
        next_attempt_at=None,
        last_error=reason,
        updated_at=now,
        **_NO_LEASE,
    )
    promote(keys, now=now)


def cancel(deliveries: QuerySet[Delivery], *, reason: str, now: datetime) -> int:
    """Never send or serve these again (their destination was deleted, their submission
    erased). Returns how many."""
    keys = _open_keys(deliveries)
    cancelled = deliveries.update(
        status=DeliveryStatus.CANCELLED,
        next_attempt_at=None,
        last_error=reason,
        updated_at=now,
        **_NO_LEASE,
    )
    promote(keys, now=now)
    return cancelled


# --- ordered (FIFO) destinations ---

FifoKey = tuple[UUID, str]  # (destination id, ordering key)


def _open_keys(deliveries: QuerySet[Delivery]) -> set[FifoKey]:
    """The FIFO keys whose open deliveries are among these (their next may need promoting)."""
    return set(
        deliveries.filter(ordering_key__isnull=False, status__in=OPEN_STATUSES).values_list(
            "destination_id", "ordering_key"
        )
    )


def wait_turn(ids: Iterable[UUID], *, now: datetime) -> None:
    """Claimed rows that are not their key's head: out of the due set until promoted."""
    park(ids, when=None, now=now)


def _head(destination_id: UUID, key: str) -> QuerySet[Delivery]:
    return Delivery.objects.filter(
        destination_id=destination_id, ordering_key=key, status__in=OPEN_STATUSES
    ).order_by("created_at", "id")


def promote(keys: Iterable[FifoKey], *, now: datetime) -> int:
    """Make each key's head due if it waits for its turn (its predecessor just left)."""
    promoted = 0
    for destination_id, key in sorted(keys, key=str):
        promoted += Delivery.objects.filter(
            id=Subquery(_head(destination_id, key).values("id")[:1]),
            status__in=WAITING_STATUSES,
            next_attempt_at__isnull=True,
        ).update(next_attempt_at=now, updated_at=now)
    return promoted


def fifo_heads(destination_id: UUID, keys: Iterable[str]) -> dict[str, UUID]:
    """Each key's head: its oldest open delivery, the only one of the key that may be sent.
    One index probe per key (delivery_fifo_open), however long the key's queue."""
    keys = sorted(set(keys))
    if connection.vendor != "postgresql":
        return {
            key: head
            for key in keys
            if (head := _head(destination_id, key).values_list("id", flat=True).first())
        }
    table, statuses = Delivery._meta.db_table, [str(s) for s in OPEN_STATUSES]
    sql = (
        f"SELECT k.key, h.id FROM unnest(%s::text[]) AS k(key) CROSS JOIN LATERAL ("  # noqa: S608
        f"SELECT d.id FROM {table} d WHERE d.destination_id = %s AND d.ordering_key = k.key "
        "AND d.status = ANY(%s) ORDER BY d.created_at, d.id LIMIT 1) h"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [keys, destination_id, statuses])
        return dict(cursor.fetchall())


def busy_keys(destination_id: UUID, keys: Iterable[str], *, now: datetime) -> set[str]:
    """Keys with a delivery in flight under a live lease: nothing else of theirs may go."""
    return set(
        Delivery.objects.filter(
            destination_id=destination_id,
            ordering_key__in=list(keys),
            status=DeliveryStatus.IN_FLIGHT,
            lease_until__gte=now,
        ).values_list("ordering_key", flat=True)
    )


def promote_stalled(*, now: datetime, limit: int = 500) -> int:
    """The safety net of promote(): a head left waiting (its predecessor settled while the claim
    that parked it was still committing) is made due. Disabled destinations keep theirs."""
    heads = (
        Delivery.objects.filter(ordering_key__isnull=False, status__in=OPEN_STATUSES)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("destination_id"), F("ordering_key")],
                order_by=[F("created_at"), F("id")],
            )
        )
        .filter(rank=1)
        .values("id")
    )
    stalled = Delivery.objects.filter(
        id__in=heads,
        status__in=WAITING_STATUSES,
        next_attempt_at__isnull=True,
        destination__enabled=True,
    ).values_list("id", flat=True)[:limit]
    return Delivery.objects.filter(id__in=list(stalled)).update(next_attempt_at=now, updated_at=now)


def resume(deliveries: QuerySet[Delivery], *, now: datetime) -> int:
    """Make waiting deliveries that were held indefinitely (a disabled destination) due now."""
    return deliveries.filter(status__in=WAITING_STATUSES, next_attempt_at__isnull=True).update(
        next_attempt_at=now, updated_at=now
    )


def replay(deliveries: QuerySet[Delivery], *, pull: bool, now: datetime) -> int:
    """Queue finished, dead or retrying deliveries again as a new cycle: the retry budget starts
    over, attempt numbers keep counting. One in flight is left to finish."""
    return deliveries.exclude(status=DeliveryStatus.IN_FLIGHT).update(
        status=DeliveryStatus.PENDING,
        cycle_started_at_attempt=F("attempts"),
        next_attempt_at=None if pull else now,
        last_error="",
        delivered_at=None,
        updated_at=now,
        **_NO_LEASE,
    )


# --- the pull inbox ---


def lease_pull(ids: Iterable[UUID], *, token: UUID, until: datetime, now: datetime) -> int:
    """Hand inbox events to one consumer until `until`; each lease counts as an attempt."""
    return Delivery.objects.filter(id__in=list(ids)).update(
        status=DeliveryStatus.IN_FLIGHT,
        attempts=F("attempts") + 1,
        lease_until=until,
        lease_token=token,
        updated_at=now,
    )


def return_lapsed_pull(deliveries: QuerySet[Delivery], *, now: datetime) -> int:
    """Inbox leases that ran out without an ack: waiting again, in their place by age (the
    lease count stays). A lease then reads the waiting index alone, never a pile of lapsed
    leases sorted on every call (a consumer that leases and never acks makes one)."""
    return deliveries.filter(status=DeliveryStatus.IN_FLIGHT, lease_until__lt=now).update(
        status=DeliveryStatus.PENDING, updated_at=now, **_NO_LEASE
    )


def exhaust_pull(ids: Iterable[UUID], *, reason: str, now: datetime) -> int:
    """Inbox events leased their destination's max_attempts times without an ack: dead."""
    return Delivery.objects.filter(id__in=list(ids)).update(
        status=DeliveryStatus.DEAD, last_error=reason, updated_at=now, **_NO_LEASE
    )


def ack(ids: Iterable[UUID], *, now: datetime) -> int:
    """Inbox events acknowledged by their consumer: delivered."""
    return Delivery.objects.filter(id__in=list(ids), status__in=ACKABLE).update(
        status=DeliveryStatus.SUCCEEDED,
        attempts=Greatest(F("attempts"), 1),  # acked without a lease: one plain read
        delivered_at=now,
        next_attempt_at=None,
        last_error="",
        updated_at=now,
        **_NO_LEASE,
    )
