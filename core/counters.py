"""Short-lived counters (rate windows, quotas): in Redis when REDIS_URL is set, so every process
shares them; otherwise in this process's memory (the embedded single-box default)."""

from __future__ import annotations

import threading

from core.redis_client import get_redis

_lock = threading.Lock()
_memory: dict[str, int] = {}
# Windows are short; dropping all in-memory counters now and then is harmless.
_MEMORY_LIMIT = 10_000


def memory_incr(key: str, amount: int) -> int:
    with _lock:
        if len(_memory) > _MEMORY_LIMIT:
            _memory.clear()
        _memory[key] = _memory.get(key, 0) + amount
        return _memory[key]


def memory_forget() -> None:
    """Drop every in-process counter (between tests, as a Redis flush does for Redis's)."""
    with _lock:
        _memory.clear()


def incr(key: str, *, amount: int = 1, ttl_seconds: int) -> int:
    """Add `amount` and return the new total; the key expires `ttl_seconds` after its last use."""
    client = get_redis()
    if client is None:
        return memory_incr(key, amount)
    pipe = client.pipeline(transaction=False)
    pipe.incrby(key, amount)
    pipe.expire(key, ttl_seconds)
    return pipe.execute()[0]


def incr_many(keys: list[str], *, ttl_seconds: int) -> list[int]:
    """incr() of several counters by one, in one round trip; their new totals, in order."""
    client = get_redis()
    if client is None:
        return [memory_incr(key, 1) for key in keys]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.incr(key)
        pipe.expire(key, ttl_seconds)
    return pipe.execute()[::2]
