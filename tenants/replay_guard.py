"""Replay protection inside the timestamp window: a signed ingest request is accepted once.

The X-Timestamp window (±INGEST_TIMESTAMP_TOLERANCE_SECONDS) bounds how long a captured request
stays valid; within it, each signature is remembered (Redis SET NX with a TTL covering the whole
window, or process memory on the embedded default). A byte-identical resend is refused with
409 `replayed_request`. A request that fails (bad body, limits, storage down) is forgotten, so
the sender's honest retry of the same bytes still goes through.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from formbridge.errors import ApiError
from formbridge.redis_client import get_redis

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_memory: dict[str, float] = {}  # key -> expiry (monotonic), for the no-Redis default
_MEMORY_LIMIT = 100_000


def _ttl_seconds() -> int:
    # A timestamp may be up to the tolerance in the past or the future: the signature stays
    # acceptable for twice the tolerance.
    return 2 * settings.INGEST_TIMESTAMP_TOLERANCE_SECONDS + 5


def _key(tenant_id: str, signature: str) -> str:
    digest = hashlib.sha256(signature.strip().lower().encode()).hexdigest()[:40]
    return f"fb:seen:{tenant_id}:{digest}"


def _claim(key: str) -> bool:
    """True if this key was not seen within the window (and is now taken)."""
    client = get_redis()
    if client is not None:
        try:
            return bool(client.set(key, b"1", nx=True, ex=_ttl_seconds()))
        except Exception as exc:  # Redis down: the timestamp window still bounds replays
            logger.warning("replay guard unavailable", extra={"error": type(exc).__name__})
            return True
    now = time.monotonic()
    with _lock:
        if len(_memory) > _MEMORY_LIMIT:
            for stale in [k for k, expiry in _memory.items() if expiry <= now]:
                del _memory[stale]
        if _memory.get(key, 0) > now:
            return False
        _memory[key] = now + _ttl_seconds()
        return True


def _forget(key: str) -> None:
    client = get_redis()
    if client is not None:
        try:
            client.delete(key)
        except Exception:  # the key expires by itself
            logger.warning("replay guard could not forget a failed request")
        return
    with _lock:
        _memory.pop(key, None)


@contextmanager
def accepted_once(tenant_id: str, signature: str) -> Iterator[None]:
    """Run the body for the first arrival of this signed request only; forget it on failure."""
    key = _key(tenant_id, signature)
    if not _claim(key):
        raise ApiError(
            409,
            "replayed_request",
            "This exact signed request was already received. To send again, sign it anew "
            "with a fresh X-Timestamp (a repeated submission_id is answered as a duplicate).",
        )
    try:
        yield
    except BaseException:
        _forget(key)
        raise
