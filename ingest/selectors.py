"""Reads for submissions, always scoped by tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q

from delivery.models import Delivery, DeliveryAttempt
from formbridge.cursors import decode_cursor, encode_cursor
from tenants.models import Tenant

from .models import Submission


@dataclass(frozen=True)
class SubmissionPage:
    items: list[Submission]
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
) -> SubmissionPage:
    """Newest first, by keyset on (received_at, id): rows arriving meanwhile are newer than any
    cursor, so paging on neither skips nor repeats a row."""
    rows = Submission.objects.filter(tenant=tenant).order_by("-received_at", "-id")
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
    items = list(rows.defer("requested_destinations")[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    counts: dict = {}
    for submission_pk, delivery_status, n in (
        Delivery.objects.filter(submission__in=[s.pk for s in items])
        .values_list("submission_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts.setdefault(submission_pk, {})[delivery_status] = n
    last = items[-1] if more else None
    return SubmissionPage(
        items=items,
        next_cursor=encode_cursor(last.received_at, last.id) if last else None,
        delivery_counts=counts,
    )


def submission_get(*, tenant: Tenant, submission_id: str) -> Submission | None:
    """One submission with its deliveries (destination) and their attempts, in three queries."""
    return (
        Submission.objects.filter(tenant=tenant, submission_id=submission_id)
        .prefetch_related(
            Prefetch(
                "deliveries",
                queryset=Delivery.objects.select_related("destination")
                .order_by("created_at", "id")
                .prefetch_related(
                    Prefetch(
                        "attempt_log", queryset=DeliveryAttempt.objects.order_by("number", "id")
                    )
                ),
            )
        )
        .first()
    )
