"""The dispatcher's database side: claim due deliveries, record what their attempts did.

Claims use SELECT ... FOR UPDATE SKIP LOCKED and a lease (token + expiry): two workers never send
the same delivery at once, and a worker that dies mid-flight loses its lease, not the delivery.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import DatabaseError, DataError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from core import metrics
from core.db import bulk_insert
from core.ids import new_uuid7
from core.storable import safe_text
from reporting import services as reporting

from . import health, lifecycle, retry
from .attempts import attempt_row, minimal_attempt_row, safe_error
from .connectors.base import Job, Outcome
from .connectors.registry import PULL_KINDS
from .events import EVENT_FIELDS, event_from_values
from .models import (
    FINAL_STATUSES,
    WAITING_STATUSES,
    AttemptOutcome,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Destination,
)
from .snapshots import destination_snapshot, previous_secrets_prefetch
from .stored_objects import with_stored_objects

logger = logging.getLogger(__name__)

# How long deliveries held back by a destination's concurrency or rate limit wait before retrying.
THROTTLE_DEFER_SECONDS = 1


@dataclass(frozen=True)
class Claimed:
    job: Job
    lease_token: UUID
    cycle_attempt: int  # 1 for the first attempt since creation or the last replay
    retry_schedule: tuple[float, ...]
    max_attempts: int | None
    received_at: datetime  # of the submission: delivery latency counts from here


# A claim reads past rows it had to park (a throttled destination's backlog) this many times, so
# one tenant's backlog cannot crowd another tenant's due rows out of a claim; and, while it has
# chosen nothing yet, up to MAX_EMPTY_CLAIM_READS times (a FIFO backlog whose keys' heads sit
# behind rows that must wait their turn), so a claim comes back empty only when nothing is due.
MAX_CLAIM_READS = 4
MAX_EMPTY_CLAIM_READS = 16


def _choose(
    limit: int, now: datetime, poisoned: list[tuple[UUID, str]]
) -> tuple[list[dict], dict[UUID, Destination]]:
    """The due rows that may be sent now (locked), up to `limit`; the rest of what was read is
    parked. Reads again while the window was full and some of it had to be parked."""
    chosen: list[dict] = []
    destinations: dict[UUID, Destination] = {}
    taken: dict[UUID, int] = defaultdict(int)  # chosen per destination, in this claim
    for reads in range(1, MAX_EMPTY_CLAIM_READS + 1):
        wanted = limit - len(chosen)
        candidates = _read_candidates(wanted, now, poisoned, skip=[r["id"] for r in chosen])
        by_destination: dict[UUID, list[dict]] = defaultdict(list)
        for row in candidates:
            by_destination[row["destination_id"]].append(row)
        new = [d for d in by_destination if d not in destinations]
        destinations |= (
            Destination.objects.select_related("tenant")
            .prefetch_related(previous_secrets_prefetch(now))
            .in_bulk(new)
        )
        in_flight = dict(
            Delivery.objects.filter(
                destination_id__in=by_destination,
                status=DeliveryStatus.IN_FLIGHT,
                lease_until__gte=now,
            )
            .values_list("destination_id")
            .annotate(n=Count("id"))
        )
        parked = 0
        for destination_id, rows in by_destination.items():
            destination = destinations[destination_id]
            if destination.ordering_key and destination.enabled:
                waiting = len(rows)
                rows = _fifo_turns(destination, rows, now)
                parked += waiting - len(rows)
            busy = in_flight.get(destination_id, 0) + taken[destination_id]
            allowed = health.allowance(destination, len(rows), busy, now)
            chosen.extend(rows[:allowed])
            taken[destination_id] += min(allowed, len(rows))
            if rows[allowed:]:
                _park([row["id"] for row in rows[allowed:]], destination, now)
                parked += len(rows) - allowed
        if len(candidates) < wanted or not parked or len(chosen) >= limit:
            break
        if reads >= MAX_CLAIM_READS and chosen:
            break
    return chosen, destinations


def _fifo_turns(destination: Destination, rows: list[dict], now: datetime) -> list[dict]:
    """Of an ordered destination's due rows, those whose turn it is: each key's head, when
    nothing of its key is in flight. The others wait, out of the due set, until promoted."""
    keys = {row["ordering_key"] for row in rows if row["ordering_key"] is not None}
    heads = lifecycle.fifo_heads(destination.id, keys) if keys else {}
    busy = lifecycle.busy_keys(destination.id, keys, now=now) if keys else set()
    turns, waiting = [], []
    for row in rows:
        key = row["ordering_key"]
        if key is None:  # created before the destination was ordered: no order to keep
            turns.append(row)
        elif heads.get(key) == row["id"] and key not in busy:
            turns.append(row)
            busy.add(key)
        else:
            waiting.append(row["id"])
    if waiting:
        lifecycle.wait_turn(waiting, now=now)
    return turns


# How often a worker looks for FIFO heads left waiting (lifecycle.promote_stalled).
FIFO_SWEEP_SECONDS = 5.0
_last_sweep = 0.0


def _sweep_fifo(now: datetime) -> None:
    global _last_sweep
    if time.monotonic() - _last_sweep < FIFO_SWEEP_SECONDS:
        return
    _last_sweep = time.monotonic()
    promoted = lifecycle.promote_stalled(now=now)
    if promoted:
        logger.info("stalled FIFO heads promoted", extra={"deliveries": promoted})


def _due(now: datetime) -> Q:
    expired_lease = Q(status=DeliveryStatus.IN_FLIGHT, lease_until__lt=now)
    return Q(status__in=WAITING_STATUSES, next_attempt_at__lte=now) | expired_lease


def has_due_work(now: datetime | None = None) -> bool:
    """Cheap: both halves of the condition are served by partial indexes."""
    return _push(Delivery.objects.filter(_due(now or timezone.now()))).exists()


def _park(ids: list[UUID], destination: Destination, now: datetime) -> None:
    """Move rows that may not go now out of the due set, so they don't crowd the next claims."""
    if destination.deleted_at:
        # Routed by a process whose routes cache had not yet seen the deletion.
        lifecycle.cancel(
            Delivery.objects.filter(id__in=ids), reason="the destination was deleted", now=now
        )
        return
    when = health.resumes_at(destination, now, throttled_for=THROTTLE_DEFER_SECONDS)
    lifecycle.park(ids, when=when, now=now)


# A claimed row is read as plain values (no model instances: they were a quarter of claim time).
_CLAIM_COLUMNS = {
    "id": "id",
    "destination_id": "destination_id",
    "attempts": "attempts",
    "cycle_started_at_attempt": "cycle_started_at_attempt",
    **{f"submission__{name}": name for name in EVENT_FIELDS if name != "tenant_id"},
    "submission__payload_object": "payload_object",
    "tenant_id": "tenant_id",
    "ordering_key": "ordering_key",
    "trace_context": "trace_context",
}


def deliveries_claim(
    *, limit: int, now: datetime | None = None, ahead_seconds: float = 0.0
) -> list[Claimed]:
    """Lease up to `limit` due deliveries to this worker, honouring each destination's limits.
    `ahead_seconds`: how long the sends this worker already has in flight may take; new rows
    may wait behind them for a slot, so their lease covers it."""
    now = now or timezone.now()
    poisoned: list[tuple[UUID, str]] = []
    _sweep_fifo(now)
    lifecycle.requeue_expired(_push(Delivery.objects.all()), now=now)
    with transaction.atomic():
        chosen, destinations = _choose(limit, now, poisoned)
        if poisoned:
            _dead_letter_poison(poisoned, stage="claim", now=now)
        if not chosen:
            return []
        token = new_uuid7()
        # The batch is sent `rounds` requests deep per concurrency slot: the lease must outlast
        # the slowest possible batch, or another worker could re-send what is still in flight.
        rounds = math.ceil(len(chosen) / settings.DELIVERY_HTTP_CONCURRENCY)
        slowest = max(
            destinations[d].timeout_seconds + destinations[d].connect_timeout_seconds
            for d in {row["destination_id"] for row in chosen}
        )
        lifecycle.lease(
            [row["id"] for row in chosen],
            token=token,
            until=now
            + timedelta(
                seconds=ahead_seconds + rounds * slowest + settings.DELIVERY_LEASE_MARGIN_SECONDS
            ),
            now=now,
        )
    snapshots = {}
    claimed = []
    unbuildable: list[tuple[UUID, str]] = []
    for row in chosen:
        destination = destinations[row["destination_id"]]
        try:
            if destination.id not in snapshots:
                snapshots[destination.id] = destination_snapshot(destination)
            event = with_stored_objects(
                event_from_values(row),
                tenant_id=row["tenant_id"],
                payload_object=row["payload_object"],
                files_as=snapshots[destination.id].files_as,
            )
        except Exception as exc:  # one row's failure must not stop the batch
            unbuildable.append((row["id"], f"cannot build the job: {type(exc).__name__}: {exc}"))
            continue
        claimed.append(
            Claimed(
                job=Job(
                    delivery_id=row["id"],
                    attempt_number=row["attempts"] + 1,
                    submission_id=row["submission_id"],
                    event=event,
                    destination=snapshots[destination.id],
                    ordering_key=row["ordering_key"],
                    trace_context=row["trace_context"],
                ),
                lease_token=token,
                cycle_attempt=row["attempts"] + 1 - row["cycle_started_at_attempt"],
                retry_schedule=tuple(destination.retry_schedule or retry.DEFAULT_SCHEDULE),
                max_attempts=destination.max_attempts,
                received_at=row["received_at"],
            )
        )
    if unbuildable:
        _dead_letter_poison(unbuildable, stage="claim", now=now)
    return claimed


# A row whose values cannot be read back (a time outside what Python holds, say) makes the whole
# query fail; without isolation it would fail every claim, for every tenant, until fixed by hand.
_UNREADABLE = (DataError, ValueError, OverflowError, TypeError, UnicodeError)


def _push(deliveries):
    """Deliveries a worker sends (a pull inbox's wait for their consumer). A subquery, not a
    join: the due rows keep their index order, so a claim stops after the rows it takes."""
    pull = Destination.objects.filter(kind__in=PULL_KINDS).values("id")
    return deliveries.exclude(destination_id__in=pull)


def _due_rows(now: datetime):
    """Due rows in the due index's order, so a claim reads only the rows it takes, however
    large the backlog (expired leases are made due first: lifecycle.requeue_expired)."""
    return (
        _push(Delivery.objects.select_for_update(skip_locked=True, of=("self",)))
        .filter(status__in=WAITING_STATUSES, next_attempt_at__lte=now)
        # Oldest first among rows due together: an ordered key's head comes before its queue.
        .order_by("next_attempt_at", "created_at")
    )


def _read_candidates(
    limit: int, now: datetime, poisoned: list[tuple[UUID, str]], skip: list[UUID]
) -> list[dict]:
    """Due rows as plain values (but those in `skip`); an unreadable row is put in `poisoned`,
    the rest go on."""
    due = _due_rows(now).exclude(id__in=skip) if skip else _due_rows(now)
    try:
        with transaction.atomic():
            return [
                dict(zip(_CLAIM_COLUMNS.values(), row, strict=True))
                for row in due.values_list(*_CLAIM_COLUMNS)[:limit]
            ]
    except _UNREADABLE:
        pass
    # Slow path, only when a batch could not be read: ids (always readable), then row by row.
    rows = []
    for delivery_id in due.values_list("id", flat=True)[:limit]:
        try:
            with transaction.atomic():
                values = Delivery.objects.filter(id=delivery_id).values_list(*_CLAIM_COLUMNS)
                rows.append(dict(zip(_CLAIM_COLUMNS.values(), values.get(), strict=True)))
        except _UNREADABLE as exc:
            poisoned.append((delivery_id, f"unreadable row: {type(exc).__name__}: {exc}"))
    return rows


def _dead_letter_poison(rows: list[tuple[UUID, str]], *, stage: str, now: datetime) -> None:
    """Dead-letter rows the engine cannot handle, each with its reason, visibly and counted."""
    for delivery_id, reason in rows:
        lifecycle.dead(
            delivery_id, reason=safe_text(f"poison ({stage}): {reason}", limit=500), now=now
        )
        metrics.count(metrics.POISON_DELIVERIES, stage, "dead")
        logger.error(
            "delivery dead-lettered as poison",
            extra={"delivery_id": str(delivery_id), "stage": stage, "reason": reason[:500]},
        )


def _apply_outcomes(
    results: list[tuple[Claimed, Outcome]], now: datetime
) -> tuple[list[Claimed], list[tuple[Claimed, str]]]:
    """Move each delivery to its next state under its lease; returns the leases lost and the
    (delivery, new status) pairs applied."""
    settlements = {
        claimed.job.delivery_id: lifecycle.Settlement(
            delivery_id=claimed.job.delivery_id,
            lease_token=claimed.lease_token,
            status_code=outcome.status_code,
            state=lifecycle.next_state(
                outcome=outcome.outcome,
                error=outcome.error,
                retry_after=outcome.retry_after,
                cycle_attempt=claimed.cycle_attempt,
                retry_schedule=claimed.retry_schedule,
                max_attempts=claimed.max_attempts,
                now=now,
            ),
        )
        for claimed, outcome in results
    }
    moved = lifecycle.settle(list(settlements.values()), now=now)
    lost = [c for c, _ in results if c.job.delivery_id not in moved]
    applied = [
        (c, settlements[c.job.delivery_id].state["status"])
        for c, _ in results
        if c.job.delivery_id in moved
    ]
    # An ordered delivery that is done hands its key's turn to the next one.
    lifecycle.promote(
        {
            (c.job.destination.id, c.job.ordering_key)
            for c, status in applied
            if c.job.ordering_key is not None and status in FINAL_STATUSES
        },
        now=now,
    )
    return lost, applied


def _count_outcomes(applied: list[tuple[Claimed, str]], now: datetime) -> None:
    """The daily figures move in the same transaction as the deliveries they count."""
    today = now.date()
    reporting.daily_metrics_add(
        reporting.Bump(c.job.destination.tenant_id, today, c.job.event["form_id"], counter)
        for c, status in applied
        if (counter := lifecycle.COUNTER_OF_STATUS.get(status))
    )
    reporting.daily_latencies_add(
        (
            c.job.destination.tenant_id,
            now,
            c.job.event["form_id"],
            (now - c.received_at).total_seconds() * 1000,
        )
        for c, status in applied
        if status == DeliveryStatus.SUCCEEDED
    )


def _report(results: list[tuple[Claimed, Outcome]], applied: list[tuple[Claimed, str]]) -> None:
    """Metrics for every attempt; a log line for each one that did not succeed (the attempt
    table has them all)."""
    outcomes = {}
    for claimed, outcome in results:
        outcomes[claimed.job.delivery_id] = outcome
        kind = claimed.job.destination.kind
        metrics.observe(metrics.ATTEMPT_LATENCY, outcome.duration_ms / 1000, kind)
    for claimed, status in applied:
        metrics.count(metrics.DELIVERIES, claimed.job.destination.kind, status)
        if status == DeliveryStatus.SUCCEEDED:
            continue
        job = claimed.job
        logger.log(
            logging.WARNING if status == DeliveryStatus.DEAD else logging.INFO,
            "delivery dead" if status == DeliveryStatus.DEAD else "delivery attempt failed",
            extra={
                "tenant_id": job.destination.tenant_id,
                "submission_id": job.submission_id,
                "destination_id": str(job.destination.id),
                "delivery_id": str(job.delivery_id),
                "attempt": job.attempt_number,
                "status_code": outcomes[job.delivery_id].status_code,
                "error": safe_error(job, outcomes[job.delivery_id]),
            },
        )


def deliveries_record(
    results: list[tuple[Claimed, Outcome]], *, now: datetime | None = None
) -> None:
    """Store each attempt and move each delivery on; a lost lease keeps the attempt only.

    A batch that cannot be recorded whole is recorded row by row, so one bad row (a receiver's
    junk that still defeats the safe-text rules, say) never leaves the others in flight."""
    now = now or timezone.now()
    try:
        applied = _record(results, now, attempt_row)
    except _UNRECORDABLE:
        if connection_broken():
            raise
        applied = []
        for result in results:
            applied += _record_alone(result, now)
    _report(results, applied)


# A database that is down is not poison: the leases expire and the batch is sent again.
_UNRECORDABLE = (DatabaseError, ValueError, TypeError, UnicodeError, OverflowError)


def connection_broken() -> bool:
    return not connection.is_usable() if connection.connection is not None else False


def _record(results: list[tuple[Claimed, Outcome]], now: datetime, build_row) -> list:
    with transaction.atomic():
        bulk_insert(DeliveryAttempt, [build_row(c.job, o) for c, o in results])
        lost, applied = _apply_outcomes(results, now)
        _count_outcomes(applied, now)
        for claimed in lost:
            logger.warning(
                "lease lost before the outcome was recorded",
                extra={"delivery_id": str(claimed.job.delivery_id)},
            )
        health.record(
            (
                (claimed.job.destination.id, outcome.outcome == AttemptOutcome.SUCCESS,
                 outcome.disable_reason)
                for claimed, outcome in results
            ),
            now,
        )  # fmt: skip
    return applied


def _record_alone(result: tuple[Claimed, Outcome], now: datetime) -> list:
    """One result: in full if it can be, else its outcome with a minimal attempt row, else
    dead-lettered, so it never stays in flight to be resent forever."""
    claimed = result[0]
    try:
        return _record([result], now, attempt_row)
    except _UNRECORDABLE as exc:
        if connection_broken():
            raise
        reason = f"the attempt could not be recorded in full: {type(exc).__name__}"
    try:
        applied = _record([result], now, lambda job, o: minimal_attempt_row(job, o, reason))
    except _UNRECORDABLE as exc:
        if connection_broken():
            raise
        _dead_letter_poison(
            [(claimed.job.delivery_id, f"cannot record: {type(exc).__name__}")],
            stage="record",
            now=now,
        )
        return []
    metrics.count(metrics.POISON_DELIVERIES, "record", "recorded")
    logger.error(
        "attempt recorded without its response",
        extra={"delivery_id": str(claimed.job.delivery_id), "reason": reason},
    )
    return applied
