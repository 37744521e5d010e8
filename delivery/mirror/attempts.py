"""The attempt log in the mirror: every DeliveryAttempt of a mirrored tenant becomes an attempt
item (PK SUB#{submission}, SK DEST#{destination}#ATTEMPT#{n}), copied in id order by the beat.

Attempts are immutable, so the copy is a BatchWriteItem of new items after a cursor. It reads
only attempts older than LAG_SECONDS: an attempt row's id is drawn before its transaction
commits, so a younger row with a smaller id may still be on its way.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from delivery.connectors import aws
from delivery.models import DeliveryAttempt, Destination, MirrorCursor, MirrorStream
from delivery.snapshots import DestinationUnusable, usable_snapshot

from . import items, scope, writer

logger = logging.getLogger(__name__)

LAG_SECONDS = 30
PAGE = 500


def copy_attempts(destination: Destination, *, limit: int = 5000) -> int:
    """Copy the tenant's attempts after the cursor (up to `limit`); returns how many."""
    cursor, _ = MirrorCursor.objects.get_or_create(
        destination=destination, stream=MirrorStream.ATTEMPTS
    )
    after = int(cursor.position.get("after_id", 0))
    settled = timezone.now() - timedelta(seconds=LAG_SECONDS)
    rows = list(
        DeliveryAttempt.objects.filter(
            tenant_id=destination.tenant_id, id__gt=after, created_at__lt=settled
        )
        .order_by("id")
        .values(
            "id", "number", "outcome", "started_at", "duration_ms", "response_status", "error",
            "delivery__submission__submission_id", "delivery__destination_id",
            "delivery__destination__name",
        )[:limit]
    )  # fmt: skip
    if not rows:
        return 0
    client = aws.client("dynamodb", usable_snapshot(destination))
    retention = destination.tenant.retention_days
    copied = 0
    for page in scope.chunks(rows, PAGE):
        copied += writer.batch_write(
            client,
            destination.config["table"],
            (
                items.attempt_item(
                    tenant_id=destination.tenant_id,
                    submission_id=row["delivery__submission__submission_id"],
                    destination_id=str(row["delivery__destination_id"]),
                    destination_name=row["delivery__destination__name"],
                    number=row["number"],
                    outcome=row["outcome"],
                    started_at=row["started_at"],
                    duration_ms=row["duration_ms"],
                    status_code=row["response_status"],
                    error=row["error"],
                    retention_days=retention,
                )
                for row in page
            ),
        )
        cursor.position = {"after_id": page[-1]["id"]}
        cursor.save(update_fields=["position", "updated_at"])
    return copied


def copy_all_attempts() -> int:
    """Every mirror destination's new attempts (the beat's task)."""
    copied = 0
    for destination in scope.mirror_destinations(ensure=False):
        if not destination.enabled:
            continue
        try:
            copied += copy_attempts(destination)
        except DestinationUnusable as exc:  # one tenant's withdrawn grant stops only its own
            logger.warning("mirror attempt log skipped: %s", exc)
    return copied
