"""The drain loop: claim a batch of due deliveries, send them concurrently on one asyncio loop
(up to DELIVERY_HTTP_CONCURRENCY in flight), record the outcomes.

One Celery task drains many deliveries: a task per delivery would cap throughput at what Celery
itself can run (~1k tasks/s on 2 cores), far below what HTTP allows.
"""

from __future__ import annotations

import asyncio
import logging
import time

from django.conf import settings
from django.utils import timezone

from . import aio, engine, wakeup
from .connectors import connector_for
from .connectors.base import Outcome
from .engine import Claimed
from .models import AttemptOutcome

logger = logging.getLogger(__name__)


async def send_one(claimed: Claimed) -> Outcome:
    """Never raises: a connector bug becomes a retryable attempt with the error recorded."""
    job = claimed.job
    try:
        return await connector_for(job.destination.kind).send(job)
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


async def _send_all(batch: list[Claimed]) -> list[Outcome]:
    in_flight = asyncio.Semaphore(settings.DELIVERY_HTTP_CONCURRENCY)

    async def bounded(claimed: Claimed) -> Outcome:
        async with in_flight:
            return await send_one(claimed)

    return await asyncio.gather(*(bounded(claimed) for claimed in batch))


def send_batch(batch: list[Claimed]) -> list[tuple[Claimed, Outcome]]:
    return list(zip(batch, aio.run(_send_all(batch)), strict=True))


def drain(*, time_budget_seconds: float = 20.0, batch_size: int | None = None) -> int:
    """Send due deliveries until there are none (or the time budget is spent); returns how many."""
    batch_size = batch_size or settings.DELIVERY_BATCH_SIZE
    deadline = time.monotonic() + time_budget_seconds
    sent = 0
    while True:
        batch = engine.deliveries_claim(limit=batch_size)
        if not batch:
            # Let the next submission wake a new drain, then look once more (see delivery.wakeup).
            wakeup.release()
            batch = engine.deliveries_claim(limit=batch_size)
            if not batch:
                return sent
        wakeup.keep_alive()
        engine.deliveries_record(send_batch(batch))
        sent += len(batch)
        if time.monotonic() > deadline:
            # Hand over to a fresh task so one task never holds a worker slot indefinitely.
            wakeup.request_drain(force=True)
            return sent
