"""Reads for submissions, always scoped by tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q

from core.cursors import decode_cursor, encode_cursor
from delivery.models import Delivery, DeliveryAttempt
from tenants.models import Tenant

from .models import PUBLIC_FIELDS, PayloadSchema, Submission, SubmissionStatus

LIST_FIELDS = ("id", "tenant_id", "payload_object", *PUBLIC_FIELDS)


@dataclass(frozen=True)
class SubmissionPage:
    items: list[dict]  # LIST_FIELDS
    next_cursor: str | None
    delivery_counts: dict  # submission pk -> {status: count}


def submission_list(
    *,
    tenant: Tenant,
    limit: int = 50,
    cursor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    form_id: str | None = None,
    source: str | None = None,
    status: str | None = None,
    spam: bool = False,
) -> SubmissionPage:
    """Newest first, by keyset on (received_at, id): rows arriving meanwhile are newer than any
    cursor, so paging on neither skips nor repeats a row. Spam is listed only when asked for,
    and then alone."""
    rows = Submission.objects.filter(
        tenant=tenant,
        erased_at__isnull=True,
        status=SubmissionStatus.SPAM if spam else SubmissionStatus.ACCEPTED,
    ).order_by("-received_at", "-id")
    if since:
        rows = rows.filter(received_at__gte=since)
    if until:
        rows = rows.filter(received_at__lt=until)
    if form_id:
        rows = rows.filter(form_id=form_id)
    if source:
        rows = rows.filter(source=source)
    if status:
        rows = rows.filter(
            Exists(Delivery.objects.filter(submission=OuterRef("pk"), status=status))
        )
    if cursor:
        moment, last_id = decode_cursor(cursor)
        # The redundant `<=` bounds the index scan; the OR alone would be a filter on it.
        rows = rows.filter(received_at__lte=moment).filter(
            Q(received_at__lt=moment) | Q(received_at=moment, id__lt=last_id)
        )
    # Plain rows, not model instances: half the time of a page went into building models.
    items = list(rows.values(*LIST_FIELDS)[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    counts: dict = {}
    for submission_pk, delivery_status, n in (
        Delivery.objects.filter(submission_id__in=[s["id"] for s in items])
        .values_list("submission_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts.setdefault(submission_pk, {})[delivery_status] = n
    last = items[-1] if more else None
    return SubmissionPage(
        items=items,
        next_cursor=encode_cursor(last["received_at"], last["id"]) if last else None,
        delivery_counts=counts,
    )


@dataclass(frozen=True)
class SubmissionDetail:
    submission: Submission
    deliveries: list  # (delivery, destination, [attempts]) oldest first


def submission_get(*, tenant: Tenant, submission_id: str) -> Submission | None:
    """A live submission; an erased one is gone (its tombstone only answers resends)."""
    return Submission.objects.filter(
        tenant=tenant, submission_id=submission_id, erased_at__isnull=True
    ).first()


def submission_detail(*, tenant: Tenant, submission_id: str) -> SubmissionDetail | None:
    """A submission with its deliveries (and their destinations) and every attempt: three
    plain queries (prefetch_related's machinery cost more than the queries themselves)."""
    submission = submission_get(tenant=tenant, submission_id=submission_id)
    if submission is None:
        return None
    deliveries = list(
        Delivery.objects.filter(submission=submission, tenant=tenant)
        .select_related("destination")
        .order_by("created_at", "id")
    )
    attempts: dict = {}
    for attempt in DeliveryAttempt.objects.filter(
        delivery__in=[d.id for d in deliveries], tenant=tenant
    ).order_by("delivery_id", "number", "id"):
        attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return SubmissionDetail(
        submission=submission,
        deliveries=[(d, d.destination, attempts.get(d.id, [])) for d in deliveries],
    )


def payload_schema_get(*, tenant: Tenant, subject_kind: str, subject: str) -> PayloadSchema | None:
    return PayloadSchema.objects.filter(
        tenant=tenant, subject_kind=subject_kind, subject=subject
    ).first()


def payload_schema_list(*, tenant: Tenant) -> list[PayloadSchema]:
    return list(PayloadSchema.objects.filter(tenant=tenant))
