"""Per-tenant rate limit (fixed one-second window) and daily quota of accepted submissions.

Counters live in Redis when REDIS_URL is set, so every web process shares them; on the embedded
default they live in process memory. The quota is soft: concurrent requests may overshoot it by
at most the number in flight.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from redis.exceptions import RedisError

from core import counters
from core.errors import LimitReached, Unavailable
from core.redis_client import get_redis

from .models import Tenant

logger = logging.getLogger(__name__)


def _rate_key(tenant_id: str, now: datetime) -> str:
    return f"fb:rate:{tenant_id}:{int(now.timestamp())}"


def _quota_key(tenant_id: str, now: datetime) -> str:
    return f"fb:quota:{tenant_id}:{now:%Y%m%d}"


def _seconds_until_midnight(now: datetime) -> int:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - now).total_seconds()))


def limits_unavailable(exc: Exception) -> Unavailable:
    """The refusal when Redis cannot count: 503, before anything is stored."""
    logger.error("limits unavailable", extra={"error": type(exc).__name__})
    return Unavailable(
        "Rate limits cannot be checked right now; nothing was stored. Retry shortly.",
        code="limits_unavailable",
        retry_after=5,
    )


def check_limits(tenant: Tenant, *, now: datetime) -> None:
    """Count this request against the tenant's rate and refuse it past the rate or the quota."""
    if not tenant.rate_limit_per_second and not tenant.daily_quota:
        return
    rate_key, quota_key = _rate_key(tenant.id, now), _quota_key(tenant.id, now)
    client = get_redis()
    if client is None:
        requests_this_second = (
            counters.memory_incr(rate_key, 1) if tenant.rate_limit_per_second else 0
        )
        accepted_today = counters.memory_incr(quota_key, 0)
    else:
        # Rate increment and quota read in one round trip: this runs on the ingest hot path.
        pipe = client.pipeline(transaction=False)
        pipe.incr(rate_key)
        pipe.expire(rate_key, 2)
        pipe.get(quota_key)
        try:
            requests_this_second, _, accepted_raw = pipe.execute()
        except RedisError as exc:
            # Nothing is stored yet: refusing with 503 is safe, the sender retries.
            raise limits_unavailable(exc) from None
        accepted_today = int(accepted_raw or 0)
    if tenant.rate_limit_per_second and requests_this_second > tenant.rate_limit_per_second:
        raise LimitReached(
            f"More than {tenant.rate_limit_per_second} requests per second; slow down.",
            code="rate_limited",
            retry_after=1,
        )
    if tenant.daily_quota and accepted_today >= tenant.daily_quota:
        raise LimitReached(
            f"The daily quota of {tenant.daily_quota} submissions is used up (resets 00:00 UTC).",
            code="quota_exceeded",
            retry_after=_seconds_until_midnight(now),
        )


def record_accepted(tenant: Tenant, *, now: datetime) -> None:
    """Count one accepted submission toward today's quota. Runs after the submission is stored,
    so it never raises: a lost count only lets the soft quota overshoot."""
    if not tenant.daily_quota:
        return
    try:
        counters.incr(_quota_key(tenant.id, now), ttl_seconds=2 * 86400)
    except RedisError as exc:
        logger.warning(
            "quota count lost", extra={"tenant_id": tenant.id, "error": type(exc).__name__}
        )
