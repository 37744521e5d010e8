"""Per-record erasure (GDPR Art. 17): a submission's personal data goes, its id stays.

The row becomes a tombstone: payload, attachments, IP and body hash are cleared, its open and
inbox deliveries are cancelled, and its attempts lose the bodies and headers receivers answered
with. The (tenant, submission_id) stays unique, so a client resend or a provider's retry of the
same id is `200 duplicate`, not a new lead. Who erased and when is kept; never what.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core import blobs
from core.errors import Invalid
from delivery import lifecycle
from delivery.models import OPEN_STATUSES, Delivery, DeliveryAttempt
from tenants.models import Tenant

from .models import Submission

logger = logging.getLogger(__name__)

FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class EraseResult:
    submission_ids: list[str]
    deliveries_cancelled: int
    attempts_cleared: int
    dry_run: bool


def submissions_matching(*, tenant: Tenant, submission_id: str | None = None, field=None):
    """The live submissions an erase request names: one id, or a top-level payload field's value
    (`email=jane@example.com`, compared without case)."""
    rows = Submission.objects.filter(tenant=tenant, erased_at__isnull=True)
    if submission_id is not None:
        return rows.filter(submission_id=submission_id)
    name, value = field
    if not FIELD_NAME.fullmatch(name):
        raise Invalid(f"{name!r} is not a payload field name", field="field")
    return rows.filter(**{f"payload__{name}__iexact": value})


def submissions_erase(
    *, tenant: Tenant, submissions, actor: str, dry_run: bool = False
) -> EraseResult:
    """Erase these submissions of `tenant` (a queryset from submissions_matching)."""
    chosen = list(submissions.filter(tenant=tenant).values_list("id", "submission_id"))
    pks = [pk for pk, _ in chosen]
    ids = [sid for _, sid in chosen]
    if dry_run or not pks:
        return EraseResult(ids, 0, 0, dry_run=dry_run)
    now = timezone.now()
    with transaction.atomic():
        objects = [
            key
            for listed, payload_object in Submission.objects.filter(
                pk__in=pks, tenant=tenant
            ).values_list("attachments", "payload_object")
            for key in blobs.object_keys(listed, payload_object)
        ]
        Submission.objects.filter(pk__in=pks, tenant=tenant).update(
            payload={},
            attachments=[],
            payload_object=None,
            ip=None,
            payload_sha256="",
            requested_destinations=None,
            erased_at=now,
            erased_by=actor[:150],
            updated_at=now,
        )
        deliveries = Delivery.objects.filter(submission_id__in=pks, tenant=tenant)
        cancelled = lifecycle.cancel(
            deliveries.filter(status__in=OPEN_STATUSES), reason="the submission was erased", now=now
        )
        cleared = DeliveryAttempt.objects.filter(
            delivery__in=deliveries.values("id"), tenant=tenant
        ).update(response_body="", response_headers={}, request_headers={}, updated_at=now)
    blobs.delete_objects(objects)  # the rows no longer name them
    for submission_id in ids:
        logger.info(
            "submission erased",
            extra={"tenant_id": tenant.id, "submission_id": submission_id, "erased_by": actor},
        )
    return EraseResult(ids, cancelled, cleared, dry_run=False)
