"""Per-destination send rate (requests per second), shared by all workers through Redis."""

from __future__ import annotations

from datetime import datetime

from core import counters


def take(destination_id: str, *, wanted: int, limit: int, now: datetime) -> int:
    """Reserve up to `wanted` sends in the current second; returns how many were granted."""
    if not limit or wanted <= 0:
        return wanted
    key = f"fb:dest-rate:{destination_id}:{int(now.timestamp())}"
    used = counters.incr(key, amount=wanted, ttl_seconds=2)
    # Reservations past the limit are simply not used; over-counting only makes us more careful.
    return max(0, min(wanted, limit - (used - wanted)))
