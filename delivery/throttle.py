"""Per-destination send rate (requests per second), shared by all workers through Redis."""

from __future__ import annotations

import threading
from datetime import datetime

from formbridge.redis_client import get_redis

_lock = threading.Lock()
_memory: dict[str, int] = {}


def take(destination_id: str, *, wanted: int, limit: int, now: datetime) -> int:
    """Reserve up to `wanted` sends in the current second; returns how many were granted."""
    if not limit or wanted <= 0:
        return wanted
    key = f"fb:dest-rate:{destination_id}:{int(now.timestamp())}"
    client = get_redis()
    if client is None:
        with _lock:
            if len(_memory) > 10_000:
                _memory.clear()
            _memory[key] = used = _memory.get(key, 0) + wanted
    else:
        pipe = client.pipeline(transaction=False)
        pipe.incrby(key, wanted)
        pipe.expire(key, 2)
        used = pipe.execute()[0]
    # Reservations past the limit are simply not used; over-counting only makes us more careful.
    return max(0, min(wanted, limit - (used - wanted)))
