"""Writes for ingest: store a verified submission once, idempotently."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from core.errors import Conflict
from core.ids import new_uuid7
from delivery import routes as delivery_routes
from tenants.models import Tenant

from .models import Submission
from .parsing import IngestInput
from .storage import StoreOutcome, replayed_submission_id, submission_store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    submission: Submission
    created: bool
    deliveries: int


def submission_ingest(
    *,
    tenant: Tenant,
    data: IngestInput,
    body: bytes,
    ip: str | None,
    received_at: datetime,
    signature: str | None = None,
) -> IngestResult:
    """Store the submission (or find the earlier one with the same submission_id).

    With the request's signature, a byte-identical replay within the window is refused (409).
    """
    row_id = new_uuid7()
    submission = Submission(
        id=row_id,
        tenant=tenant,
        submission_id=data.submission_id or str(row_id),
        source=data.source,
        form_id=data.form_id,
        event_type=data.event_type,
        submitted_at=data.submitted_at or received_at,
        received_at=received_at,
        ip=ip,
        payload=data.payload,
        payload_bytes=len(body),
        payload_sha256=hashlib.sha256(body).hexdigest(),
        attachments=list(data.attachments),
        requested_destinations=list(data.destinations) if data.destinations is not None else None,
        created_at=received_at,
        updated_at=received_at,
    )
    # Routing reads the tenant's destinations from a per-process cache, not the database.
    routes = delivery_routes.routes_for(submission)
    outcome = submission_store(submission, routes, signature=signature)
    if outcome is StoreOutcome.REPLAYED:
        earlier_id = replayed_submission_id(tenant.id, signature or "")
        raise Conflict(
            f"This exact signed request was already stored as submission {earlier_id!r}; "
            "nothing new was stored. Signing the same body anew stores a second submission "
            "unless the body carries a submission_id.",
            code="replayed_request",
            extra={"submission_id": earlier_id},
        )
    deliveries = routes if outcome is StoreOutcome.CREATED else []
    if outcome is StoreOutcome.DUPLICATE:
        earlier = Submission.objects.get(tenant=tenant, submission_id=submission.submission_id)
        logger.info(
            "duplicate submission",
            extra={"tenant_id": tenant.id, "submission_id": earlier.submission_id},
        )
        return IngestResult(submission=earlier, created=False, deliveries=0)
    logger.info(
        "submission accepted",
        extra={
            "tenant_id": tenant.id,
            "submission_id": submission.submission_id,
            "deliveries": len(deliveries),
        },
    )
    return IngestResult(submission=submission, created=True, deliveries=len(deliveries))
