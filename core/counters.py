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


# INCR each key, giving it a TTL when it is new: one command, so one reply to parse.
_INCR_MANY = """
local totals = {}
for i, key in ipairs(KEYS) do
  totals[i] = redis.call('INCR', key)
  if totals[i] == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return totals
"""


class PendingTotals:
    """Counters incremented now whose totals are read later, so the round trip to Redis
    overlaps the caller's own work (a request's body being read) instead of blocking it.

    Call totals() once, or close() to give up; either way the connection goes back to its
    pool (closed, if a reply may still be on its way).
    """

    def __init__(self, keys: list[str], *, ttl_seconds: int) -> None:
        self._client = get_redis()
        self._connection = None
        self._memory: list[int] | None = None
        if self._client is None:
            self._memory = [memory_incr(key, 1) for key in keys]
            return
        pool = self._client.connection_pool
        self._connection = pool.get_connection()
        try:
            self._connection.send_command("EVAL", _INCR_MANY, len(keys), *keys, ttl_seconds)
        except BaseException:
            self.close()
            raise

    def totals(self) -> list[int]:
        if self._memory is not None:
            return self._memory
        if self._connection is None:
            raise RuntimeError("the totals were read or given up already")
        try:
            reply = self._connection.read_response()
        except BaseException:
            self.close()
            raise
        self._client.connection_pool.release(self._connection)
        self._connection = None
        return list(reply)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.disconnect()  # a reply may still be in flight on it
            self._client.connection_pool.release(self._connection)
            self._connection = None
