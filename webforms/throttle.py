"""Per-form and per-client-IP rate limits for browser forms (fixed one-minute windows), shared
through Redis when it is configured, in process memory otherwise."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from redis.exceptions import RedisError

from core import counters
from core.errors import LimitReached, Unavailable

logger = logging.getLogger(__name__)


def _window(now: datetime) -> tuple[int, int]:
    epoch = int(now.timestamp())
    return epoch // 60, 60 - epoch % 60


def check_form_rates(
    *, form_pk: int, per_minute: int, ip: str | None, ip_per_minute: int, now: datetime
) -> None:
    """Count this post; refuse it (429 rate_limited) past either limit."""
    minute, retry_after = _window(now)
    # The IP is digested: the key names no visitor.
    ip_digest = hashlib.sha256((ip or "unknown").encode()).hexdigest()[:16]
    checks = [
        (limit, key, whom)
        for limit, key, whom in (
            (per_minute, f"fb:form:{form_pk}:{minute}", "this form"),
            (ip_per_minute, f"fb:form-ip:{form_pk}:{ip_digest}:{minute}", "your address"),
        )
        if limit
    ]
    if not checks:
        return
    try:
        # Both counters in one round trip: this runs before every browser post is read.
        counts = counters.incr_many([key for _, key, _ in checks], ttl_seconds=120)
    except RedisError as exc:
        logger.error("limits unavailable", extra={"error": type(exc).__name__})
        raise Unavailable(
            "Rate limits cannot be checked right now; nothing was stored. Retry shortly.",
            code="limits_unavailable",
            retry_after=5,
        ) from None
    for (limit, _, whom), count in zip(checks, counts, strict=True):
        if count > limit:
            raise LimitReached(
                f"Too many posts from {whom}: at most {limit} a minute. Try again shortly.",
                code="rate_limited",
                retry_after=retry_after,
            )
