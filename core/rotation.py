"""Rotating a secret with an overlap (core.models.RotatingSecret): the new one starts now, the
ones in use keep working until the overlap ends, so the other side can switch without a gap.
Tenants' and sources' inbound signing secrets and destinations' outbound ones rotate this way."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models


def overlap_is_valid(hours: float, maximum: float) -> bool:
    return 0 <= hours <= maximum  # NaN fails this too


def retire(secrets: models.QuerySet, *, hours: float, now: datetime) -> datetime:
    """The secrets in use stop at the end of the overlap; one already due to stop sooner keeps
    its date (shorten, never lengthen). When they stop."""
    ends = now + timedelta(hours=hours)
    secrets.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=ends)).update(
        expires_at=ends, updated_at=now
    )
    return ends
