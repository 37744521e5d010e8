"""Per-form and per-client-IP rate limits for browser forms (fixed one-minute windows), shared
through Redis when it is configured, in process memory otherwise."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError

from core import counters
from core.errors import LimitReached
from tenants.limits import limits_unavailable

logger = logging.getLogger(__name__)


def _window(now: datetime) -> tuple[int, int]:
    epoch = int(now.timestamp())
    return epoch // 60, 60 - epoch % 60


@dataclass
class FormRates:
    """This post counted against the form's limits; the verdict is read when enforce() is
    called, so the round trip overlaps reading the post."""

    checks: list[tuple[int, str]]  # (limit, whom) per counter
    pending: counters.PendingTotals | None
    retry_after: int

    def enforce(self) -> None:
        """Refuse (429 rate_limited) past either limit; 503 if Redis cannot say."""
        if self.pending is None:
            return
        pending, self.pending = self.pending, None
        try:
            totals = pending.totals()
        except RedisError as exc:
            raise limits_unavailable(exc) from None
        for (limit, whom), count in zip(self.checks, totals, strict=True):
            if count > limit:
                raise LimitReached(
                    f"Too many posts from {whom}: at most {limit} a minute. Try again shortly.",
                    code="rate_limited",
                    retry_after=self.retry_after,
                )

    def close(self) -> None:
        if self.pending is not None:
            self.pending.close()
            self.pending = None


def client_network(ip: str | None) -> str:
    """Whom a per-address limit counts: an IPv4 address, or an IPv6 address's /64 (one host
    is given a whole /64 and may rotate through its 2^64 addresses at will)."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def count_form_post(
    *, form_pk: int, per_minute: int, ip: str | None, ip_per_minute: int, now: datetime
) -> FormRates:
    """Count this post against the form's and the client's per-minute limits."""
    minute, retry_after = _window(now)
    # The IP is digested: the key names no visitor.
    ip_digest = hashlib.sha256(client_network(ip).encode()).hexdigest()[:16]
    counted = [
        (limit, key, whom)
        for limit, key, whom in (
            (per_minute, f"fb:form:{form_pk}:{minute}", "this form"),
            (ip_per_minute, f"fb:form-ip:{form_pk}:{ip_digest}:{minute}", "your address"),
        )
        if limit
    ]
    if not counted:
        return FormRates(checks=[], pending=None, retry_after=retry_after)
    try:
        pending = counters.PendingTotals([key for _, key, _ in counted], ttl_seconds=120)
    except RedisError as exc:
        raise limits_unavailable(exc) from None
    return FormRates(
        checks=[(limit, whom) for limit, _, whom in counted],
        pending=pending,
        retry_after=retry_after,
    )
