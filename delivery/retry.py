"""The retry policy: pure functions of an attempt's outcome and the attempt count.

Default schedule (Svix / Standard Webhooks): attempts at once, then after 5 s, 5 min, 30 min, 2 h,
5 h, 10 h and 10 h, each delay jittered by ±20 %.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from .models import AttemptOutcome

# Seconds to wait after the 1st, 2nd, ... failed attempt.
DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2
# A receiver's Retry-After is honoured, up to a day (a hostile value must not park work forever).
MAX_RETRY_AFTER_SECONDS = 86400.0
_RETRYABLE_4XX = frozenset({408, 425, 429})


def classify_status(status_code: int) -> AttemptOutcome:
    """2xx succeeds; 408, 425, 429 and 5xx are worth retrying; anything else is permanent."""
    if 200 <= status_code < 300:
        return AttemptOutcome.SUCCESS
    if status_code in _RETRYABLE_4XX or 500 <= status_code < 600:
        return AttemptOutcome.RETRYABLE
    # 1xx/3xx (redirects are not followed) and other 4xx: retrying the same request won't help.
    return AttemptOutcome.PERMANENT


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Retry-After as delta-seconds or an HTTP-date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_SECONDS)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max(0.0, (moment - now).total_seconds()), MAX_RETRY_AFTER_SECONDS)


def attempt_budget(schedule: Sequence[float], max_attempts: int | None) -> int:
    return max_attempts if max_attempts else len(schedule) + 1


def retry_delay(
    *,
    failed_attempts: int,
    schedule: Sequence[float] = DEFAULT_SCHEDULE,
    max_attempts: int | None = None,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds until the next attempt after `failed_attempts` retryable failures, None to give up.

    Past the end of a schedule shorter than max_attempts, its last delay repeats.
    """
    if failed_attempts >= attempt_budget(schedule, max_attempts) or not schedule:
        return None
    base = schedule[min(failed_attempts, len(schedule)) - 1]
    jittered = base * (1 + (rng or random).uniform(-JITTER, JITTER))
    return max(jittered, retry_after or 0.0)
