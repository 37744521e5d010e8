"""Waking the dispatcher without a Celery publish per submission.

A queue message is only a wake-up; the database holds the work. Ingest sets a Redis key with NX
and publishes one drain task only if the key was not already set, i.e. no drain is pending or
running. A running drain keeps the key alive while it works and deletes it before its last look
for work, so a submission committed meanwhile is either seen by that look or wakes a new drain.
If a drain dies, the key expires within KEY_TTL_SECONDS and the beat dispatcher wakes another.
"""

from __future__ import annotations

import contextlib
import logging

from celery import current_app
from redis import RedisError

from core.redis_client import get_redis

logger = logging.getLogger(__name__)

KEY = "fb:delivery:drain-requested"
KEY_TTL_SECONDS = 5


# The task by its name (delivery/tasks.py defines it): tasks call the dispatcher, which calls
# this module, so importing tasks here would close a loop.
DRAIN_TASK = "delivery.drain"


def _publish() -> bool:
    try:
        # retry=False: a broker outage must never hold up the request that asked for the wake-up.
        current_app.send_task(DRAIN_TASK, retry=False)
    except Exception:  # the broker is down: the beat dispatcher will find the work later
        logger.warning("could not publish a drain task; the dispatcher will pick the work up")
        return False
    return True


def request_drain(*, force: bool = False) -> bool:
    """Ask for a drain task unless one is pending or running; True if one was published."""
    client = get_redis()
    if client is not None and not force:
        try:
            if not client.set(KEY, "1", nx=True, ex=KEY_TTL_SECONDS):
                return False
        except RedisError:
            logger.warning("redis unavailable for the drain wake-up key; publishing anyway")
    return _publish()


def keep_alive() -> None:
    client = get_redis()
    # Only an optimisation: without the key, more wake-ups are published, nothing is lost.
    if client is not None:
        with contextlib.suppress(RedisError):
            client.set(KEY, "1", ex=KEY_TTL_SECONDS)


def release() -> None:
    client = get_redis()
    if client is not None:
        with contextlib.suppress(RedisError):
            client.delete(KEY)
