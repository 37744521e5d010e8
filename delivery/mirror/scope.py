"""Which destinations mirror which submissions: every live dynamodb destination, and with
DYNAMODB_MIRROR_TABLE set, a `mirror` destination for every tenant (made at onboarding, by
beat's ensure_mirrors within a minute, or by the mirror commands)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from delivery import routing
from delivery.events import EVENT_FIELDS, event_from_values
from delivery.models import Delivery, Destination
from delivery.validation import DestinationInvalid
from tenants.models import Tenant

logger = logging.getLogger(__name__)
KIND = "dynamodb"
MIRROR_NAME = "mirror"


def submissions_model() -> Any:
    """ingest's Submission, reached by the delivery table's foreign key (no import upward)."""
    return Delivery.submission.field.related_model


def _mirrored() -> Any:
    """The live destinations writing the instance's mirror table."""
    table = settings.DYNAMODB_MIRROR_TABLE
    return Destination.objects.live().filter(kind=KIND, config__table=table)


def _make_mirror(tenant: Tenant) -> bool:
    """The tenant's `mirror` destination, made through destination_create like any other
    (validated, its health initialised); False when it cannot be made now."""
    from delivery import services  # the service layer sits above the mirror's reads

    try:
        with transaction.atomic():
            services.destination_create(
                tenant=tenant, name=MIRROR_NAME, kind=KIND,
                config={"table": settings.DYNAMODB_MIRROR_TABLE}, max_concurrency=0,
            )  # fmt: skip
    except (IntegrityError, DestinationInvalid) as exc:
        # Another process made it, or the tenant has a `mirror` of its own: said, not raised.
        logger.warning("tenant %s: no instance mirror made: %s", tenant.id, exc)
        return False
    return True


def ensure_mirror(tenant_id: str) -> bool:
    """With DYNAMODB_MIRROR_TABLE set, the tenant's `mirror` destination exists; True if made
    now. Called where destinations are made (onboarding, the mirror commands, beat's
    ensure_mirrors), never from a read."""
    if not settings.DYNAMODB_MIRROR_TABLE or _mirrored().filter(tenant_id=tenant_id).exists():
        return False
    return _make_mirror(Tenant.objects.get(pk=tenant_id))


def ensure_mirrors() -> int:
    """Every tenant's mirror (beat, each minute, while DYNAMODB_MIRROR_TABLE is set): a tenant
    made before the setting was, or outside onboarding, is mirrored within a minute. How many
    were made."""
    if not settings.DYNAMODB_MIRROR_TABLE:
        return 0
    lacking = Tenant.objects.exclude(id__in=_mirrored().values("tenant_id"))
    return sum(_make_mirror(tenant) for tenant in lacking)


def mirror_destinations(tenant_id: str | None = None, *, ensure: bool = True) -> list[Destination]:
    """The live dynamodb destinations (of one tenant); `ensure` first makes the global mirror's
    for tenants that lack it."""
    if ensure and tenant_id:
        ensure_mirror(tenant_id)
    elif ensure:
        ensure_mirrors()
    destinations = Destination.objects.live().filter(kind=KIND).select_related("tenant")
    if tenant_id:
        destinations = destinations.filter(tenant_id=tenant_id)
    return list(destinations.order_by("tenant_id", "name"))


_COLUMNS = (*EVENT_FIELDS, "id", "status", "payload_object")


def submissions_in_scope(destination: Destination, *, since=None):
    """The tenant's stored (not erased) submissions, oldest first, as plain values."""
    rows = submissions_model().objects.filter(
        tenant_id=destination.tenant_id, erased_at__isnull=True
    )
    if since is not None:
        rows = rows.filter(received_at__gte=since)
    return rows.order_by("received_at", "id").values(*_COLUMNS)


def matches(destination: Destination, row: dict[str, Any]) -> bool:
    return routing.filter_matches(
        destination.filter, form_id=row["form_id"], source=row["source"],
        event_type=row["event_type"],
    )  # fmt: skip


def event_of(row: dict[str, Any]) -> dict[str, Any]:
    """The event a submission row makes, as the mirror stores it (an offloaded payload by its
    size and digest, as the live connector sees it)."""
    event = event_from_values(row)
    stored = row.get("payload_object")
    if stored:
        event["payload"] = None
        event["payload_size"] = stored.get("size")
        event["payload_sha256"] = stored.get("sha256", "")
    return event


def chunks(rows, size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
