"""Retention: delete submissions older than their tenant's retention_days, with their
deliveries and attempts, in small batches (each its own transaction, so locks stay short and an
interrupted purge simply resumes next time)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import blobs
from delivery.models import Delivery, DeliveryAttempt
from tenants.models import Tenant

from .models import Submission

logger = logging.getLogger(__name__)
BATCH_SIZE = 1000


@dataclass
class PurgeResult:
    dry_run: bool
    submissions: int = 0
    deliveries: int = 0
    attempts: int = 0
    files: int = 0
    by_tenant: dict[str, int] = field(default_factory=dict)


def _expired(tenant: Tenant, cutoff: datetime):
    # Served by the (tenant, received_at, id) keyset index.
    return Submission.objects.filter(tenant=tenant, received_at__lt=cutoff)


def _cutoff(tenant: Tenant, now: datetime, older_than_days: int | None) -> datetime:
    return now - timedelta(
        days=tenant.retention_days if older_than_days is None else older_than_days
    )


def submissions_purge(
    *,
    now: datetime | None = None,
    older_than_days: int | None = None,
    tenant: Tenant | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> PurgeResult:
    """Apply retention: each tenant's own, or `older_than_days` for all of them."""
    now = now or timezone.now()
    tenants = [tenant] if tenant is not None else list(Tenant.objects.all())
    result = PurgeResult(dry_run=dry_run)
    for each in tenants:
        expired = _expired(each, _cutoff(each, now, older_than_days))
        if dry_run:
            count = expired.count()
            deliveries = Delivery.objects.filter(submission__in=expired)
            result.deliveries += deliveries.count()
            result.attempts += DeliveryAttempt.objects.filter(delivery__in=deliveries).count()
        else:
            count = _delete_in_batches(expired, batch_size, result, progress)
        if count:
            result.by_tenant[each.id] = count
            result.submissions += count
    if not dry_run and result.submissions:
        logger.info(
            "retention purge",
            extra={
                "submissions": result.submissions,
                "deliveries": result.deliveries,
                "attempts": result.attempts,
                "files": result.files,
            },
        )
    return result


def _stored_objects(ids: list) -> list[str]:
    rows = Submission.objects.filter(id__in=ids).filter(
        ~Q(attachments=[]) | Q(payload_object__isnull=False)
    )
    return [
        key
        for listed, payload_object in rows.values_list("attachments", "payload_object")
        for key in blobs.object_keys(listed, payload_object)
    ]


def _delete_in_batches(expired, batch_size: int, result: PurgeResult, progress) -> int:
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(expired.order_by("received_at").values_list("id", flat=True)[:batch_size])
            if not ids:
                return deleted
            # Children first: each DELETE is then one plain statement, no cascade collection.
            _, attempts = DeliveryAttempt.objects.filter(delivery__submission_id__in=ids).delete()
            _, deliveries = Delivery.objects.filter(submission_id__in=ids).delete()
            files = _stored_objects(ids)
            Submission.objects.filter(id__in=ids).delete()
        # Once the rows are gone: a failure here leaves an unreferenced object, never a row
        # pointing at a missing file.
        blobs.delete_objects(files)
        result.files += len(files)
        result.attempts += attempts.get(DeliveryAttempt._meta.label, 0)
        result.deliveries += deliveries.get(Delivery._meta.label, 0)
        deleted += len(ids)
        if progress:
            progress(len(ids))
