"""The operator's mail relay (EMAIL_URL) is shared by every tenant, with the operator's SPF and
DKIM reputation: through it a message is from the operator, never from whoever a tenant types.

On the operator's relay, From is DEFAULT_FROM_EMAIL unless an operator verified the tenant's
address for it (Tenant.mail_senders: manage.py tenants allow-sender); the tenant's own address
goes to Reply-To. Recipients are capped per message and per tenant per hour. A tenant that
brings its own relay (config.smtp_url) chooses its From, as its own relay decides.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from email.utils import parseaddr
from typing import Any

from django.conf import settings

from core import counters

# Header field-content (RFC 5322): no CR, LF or other control characters.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RelayRefused(Exception):
    """Not sent through the operator's relay: `retry_after` seconds when the hour's cap is
    reached (it may go later), None when this message never may."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def uses_operator_relay(config: dict[str, Any]) -> bool:
    return not config.get("smtp_url")


def header_problem(value: Any) -> str | None:
    """Why a value cannot be a header's field-content, if it cannot."""
    if not isinstance(value, str):
        return "must be text"
    if _CONTROL.search(value):
        return "may not hold line breaks or control characters"
    return None


def senders(config: dict[str, Any], verified: Sequence[str]) -> tuple[str, str | None]:
    """From, and the Reply-To the tenant's own address becomes when it may not be From."""
    chosen = config.get("from") or ""
    if not uses_operator_relay(config):
        return chosen or settings.DEFAULT_FROM_EMAIL, None
    address = parseaddr(chosen)[1].lower()
    if chosen and address in {v.lower() for v in verified}:
        return chosen, None
    return settings.DEFAULT_FROM_EMAIL, (address or None)


def max_recipients() -> int:
    return settings.RELAY_MAX_RECIPIENTS


def take_hourly_allowance(tenant_id: str, recipients: int) -> None:
    """Count this message's recipients against the tenant's hour on the operator's relay;
    RelayRefused once the hour's cap is reached (retry when the next hour starts)."""
    cap = settings.RELAY_RECIPIENTS_PER_HOUR
    if not cap:
        return
    now = time.time()
    hour = int(now // 3600)
    total = counters.incr(f"relay:{tenant_id}:{hour}", amount=recipients, ttl_seconds=3700)
    if total > cap:
        raise RelayRefused(
            f"{tenant_id} reached its {cap} recipients this hour on the operator's relay",
            retry_after=(hour + 1) * 3600 - now + 1,
        )
