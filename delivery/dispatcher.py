"""The drain loop: claim due deliveries, send them concurrently on one asyncio loop (up to
DELIVERY_HTTP_CONCURRENCY in flight), record the outcomes as they arrive, claim again.

One Celery task drains many deliveries: a task per delivery would cap throughput at what Celery
itself can run (~1k tasks/s on 2 cores), far below what HTTP allows.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import replace

from django.conf import settings
from django.utils import timezone
from opentelemetry import trace

from core import secret_refs, tracing

from . import aio, engine, wakeup
from .attempts import safe_error, without_secret
from .connectors.base import Job, Outcome
from .connectors.registry import connector_for
from .engine import Claimed
from .models import AttemptOutcome
from .snapshots import refused_outcome

logger = logging.getLogger(__name__)

# How often the loop looks for freed slots to claim while sends are in flight.
LOOK_EVERY_SECONDS = 0.02
# Finished outcomes are recorded in groups of half a batch, or after this long, whichever is
# first: few, large transactions, and no outcome waits long while a slow receiver holds others.
RECORD_EVERY_SECONDS = 0.1


async def send_one(claimed: Claimed) -> Outcome:
    """Never raises: a connector bug becomes a retryable attempt with the error recorded.
    Traced as one span under the delivery's stored context (its outbound call nests in it)."""
    job = claimed.job
    with tracing.span(
        f"formbridge.attempt {job.destination.kind}",
        job.trace_context,
        {
            "formbridge.tenant_id": job.destination.tenant_id,
            "formbridge.submission_id": job.submission_id,
            "formbridge.delivery_id": str(job.delivery_id),
            "formbridge.destination_id": str(job.destination.id),
            "formbridge.attempt": job.attempt_number,
        },
    ) as span:
        outcome = await _attempt(job)
        if span.is_recording():
            span.set_attribute("formbridge.outcome", str(outcome.outcome))
            if outcome.status_code is not None:
                span.set_attribute("http.response.status_code", outcome.status_code)
            if outcome.outcome != AttemptOutcome.SUCCESS:
                span.set_status(trace.StatusCode.ERROR, safe_error(job, outcome))
        return outcome


async def _attempt(job: Job) -> Outcome:
    refused = refused_outcome(job.destination)
    if refused is not None:
        return refused
    try:
        outcome = await connector_for(job.destination.kind).send(job)
        if job.destination.secret_reference and outcome.status_code in (401, 403):
            outcome = await _with_fresh_secret(job, outcome)
        return outcome
    except Exception as exc:
        logger.exception(
            "connector failed",
            extra={"delivery_id": str(job.delivery_id), "destination_id": str(job.destination.id)},
        )
        return Outcome(
            outcome=AttemptOutcome.RETRYABLE,
            started_at=timezone.now(),
            duration_ms=0,
            error=f"internal error in the {job.destination.kind} connector: {type(exc).__name__}",
        )


async def _with_fresh_secret(job: Job, refused: Outcome) -> Outcome:
    """The credential from a Secrets Manager reference was refused: it may have been rotated
    there. Read it again and, if it changed, send once more in the same attempt."""
    reference = job.destination.secret_reference
    secret_refs.forget(reference)
    bound = secret_refs.binding(job.destination.tenant_id, job.destination.secret_grants)
    try:
        fresh = await aio.blocking(secret_refs.resolve, reference, bound)
    except secret_refs.SecretUnavailable:
        return refused
    if fresh == job.destination.auth_secret:
        return refused
    retried = replace(job, destination=replace(job.destination, auth_secret=fresh))
    return without_secret(await connector_for(job.destination.kind).send(retried), fresh)


def _slots() -> asyncio.Semaphore:
    return aio.loop_resource(
        "dispatcher.slots", lambda: asyncio.Semaphore(settings.DELIVERY_HTTP_CONCURRENCY)
    )


async def _bounded(claimed: Claimed) -> Outcome:
    async with _slots():
        return await send_one(claimed)


async def _send_all(batch: list[Claimed]) -> list[Outcome]:
    return await asyncio.gather(*(_bounded(claimed) for claimed in batch))


def send_batch(batch: list[Claimed]) -> list[tuple[Claimed, Outcome]]:
    """Send a batch and wait for all of it (tests, and callers that want one step)."""
    return list(zip(batch, aio.run(_send_all(batch)), strict=True))


async def _settle(tasks: set[asyncio.Task], seconds: float) -> None:
    """Let the sends run until they are all done or `seconds` have passed."""
    await asyncio.wait(tasks, timeout=seconds)


def _longest_wait(in_flight) -> float:
    """The longest the sends already in flight can hold every slot, as the lease reckons it."""
    in_flight = list(in_flight)
    if not in_flight:
        return 0.0
    slowest = max(
        c.job.destination.timeout_seconds + c.job.destination.connect_timeout_seconds
        for c in in_flight
    )
    return math.ceil(len(in_flight) / settings.DELIVERY_HTTP_CONCURRENCY) * slowest


def drain(*, time_budget_seconds: float = 20.0, batch_size: int | None = None) -> int:
    """Send due deliveries until there are none (or the time budget is spent); returns how many.

    Pipelined: sends run while the loop claims again for the slots they free (every
    LOOK_EVERY_SECONDS), and finished outcomes are recorded in groups (half a batch, or after
    RECORD_EVERY_SECONDS), so a slow receiver holds up only its own deliveries, never the rest
    of the batch it was claimed with (another tenant's, say)."""
    batch_size = batch_size or settings.DELIVERY_BATCH_SIZE
    deadline = time.monotonic() + time_budget_seconds
    loop = aio.event_loop()
    pending: dict[asyncio.Task, Claimed] = {}  # sending, or sent and not yet recorded
    recorded_at = time.monotonic()
    sent = 0
    while True:
        sending = [task for task in pending if not task.done()]
        over_budget = time.monotonic() > deadline
        # Claim a whole batch once only a quarter of one is still sending: claims stay large
        # (each costs a transaction) and the sends never run dry.
        if not over_budget and len(sending) <= batch_size // 4:
            batch = engine.deliveries_claim(
                limit=batch_size, ahead_seconds=_longest_wait(pending[task] for task in sending)
            )
            if not batch and not pending:
                # Let the next submission wake a new drain, then look once more (delivery.wakeup).
                wakeup.release()
                batch = engine.deliveries_claim(limit=batch_size)
                if not batch:
                    return sent
            if batch:
                wakeup.keep_alive()
            for claimed in batch:
                task = loop.create_task(_bounded(claimed))
                pending[task] = claimed
                sending.append(task)
        if not pending:  # over budget with nothing in flight
            # Hand over to a fresh task so one task never holds a worker slot indefinitely.
            wakeup.request_drain(force=True)
            return sent
        if sending:
            aio.run(_settle(set(sending), LOOK_EVERY_SECONDS))
        done = [task for task in pending if task.done()]
        if done and (
            len(done) >= batch_size // 2
            or len(done) == len(pending)
            or time.monotonic() - recorded_at >= RECORD_EVERY_SECONDS
        ):
            engine.deliveries_record([(pending.pop(task), task.result()) for task in done])
            recorded_at = time.monotonic()
            sent += len(done)
