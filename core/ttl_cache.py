"""A small thread-safe, size-bounded, per-process cache whose entries expire after a few seconds."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(self, *, ttl: Callable[[], float], max_entries: int = 10_000) -> None:
        self._ttl = ttl  # read on every lookup, so settings changes apply at once
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def age(self, key: K) -> float | None:
        """Seconds since `key` was stored, None if absent."""
        entry = self._entries.get(key)
        return None if entry is None else time.monotonic() - entry[0]

    def get(self, key: K, fetch: Callable[[], V]) -> tuple[V, bool]:
        """The cached value if fresh, else fetch() stored; and whether it came from the cache."""
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry[0] < self._ttl():
            return entry[1], True
        return self.put(key, fetch()), False

    def put(self, key: K, value: V) -> V:
        with self._lock:
            self._entries[key] = (time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def forget(self, key: K | None = None) -> None:
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)


class CredentialCache(Generic[K, V]):
    """Credentials by key (a tenant id, a source token), fetched on a miss.

    A signature that fails against cached credentials may be re-checked against fresh ones:
    `refetch_after_mismatch` fetches again, at most once per `refetch_interval` seconds per key,
    so a secret added by a rotation in another process works at once while a flood of bad
    signatures cannot turn into a flood of queries.
    """

    def __init__(
        self,
        fetch: Callable[[K, datetime], V],
        *,
        ttl: Callable[[], float],
        max_entries: int = 10_000,
        refetch_interval: float = 1.0,
    ) -> None:
        self._fetch = fetch
        self._cache: TTLCache[K, V] = TTLCache(ttl=ttl, max_entries=max_entries)
        self.refetch_interval = refetch_interval

    def get(self, key: K, now: datetime) -> tuple[V, bool]:
        """The credentials and whether they came from the cache."""
        return self._cache.get(key, lambda: self._fetch(key, now))

    def refetch_after_mismatch(self, key: K, now: datetime) -> V | None:
        """Fresh credentials after a cached check failed, or None if fetched too recently."""
        age = self._cache.age(key)
        if age is not None and age < self.refetch_interval:
            return None
        return self._cache.put(key, self._fetch(key, now))

    def forget(self, key: K | None = None) -> None:
        """Drop one entry (or all): called by every service that changes them."""
        self._cache.forget(key)
