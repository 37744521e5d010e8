"""Writes for ingest: store a verified submission once, idempotently."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import blobs
from core.errors import Conflict, Invalid, NotFound
from core.ids import new_uuid7
from delivery import routes as delivery_routes
from delivery import wakeup
from delivery.fan_out import delivery_rows
from delivery.models import Delivery
from tenants.models import Tenant

from . import attachments, schemas
from .models import PayloadSchema, SchemaSubject, Submission, SubmissionStatus
from .parsing import IngestInput, clean_label
from .storage import (
    StorageUnconfirmed,
    StoreOutcome,
    count_submission,
    replayed_submission_id,
    submission_store,
)

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
    spam_reason: str = "",
    body_size: int | None = None,
    body_sha256: str | None = None,
) -> IngestResult:
    """Store the submission (or find the earlier one with the same submission_id).

    A payload that breaks its form's or event type's schema is refused (422). With the
    request's signature, a byte-identical replay within the window is refused (409), unless it
    names a client-chosen id already stored (a duplicate). A client-chosen id stored with
    another payload is a 409 conflict: nothing is stored. Spam (a
    `spam_reason`) is stored for review and routed nowhere. `body_size` and `body_sha256`
    describe a body that was parsed as it streamed in (multipart) and is not in `body`.
    """
    if not spam_reason:
        schemas.check_payload(
            tenant_id=tenant.id,
            form_id=data.form_id,
            event_type=data.event_type,
            payload=data.payload,
        )
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
        payload_bytes=len(body) if body_size is None else body_size,
        payload_sha256=body_sha256 or hashlib.sha256(body).hexdigest(),
        attachments=list(data.attachments),
        requested_destinations=list(data.destinations) if data.destinations is not None else None,
        unverified_fields=",".join(data.unverified_fields),
        status=SubmissionStatus.SPAM if spam_reason else SubmissionStatus.ACCEPTED,
        spam_reason=spam_reason[:64],
        created_at=received_at,
        updated_at=received_at,
    )
    # Routing reads the tenant's destinations from a per-process cache, not the database.
    routes = [] if spam_reason else delivery_routes.routes_for(submission)
    offloaded = _offload_large_payload(submission, max(len(body), body_size or 0))
    try:
        outcome = submission_store(submission, routes, signature=signature)
    except StorageUnconfirmed:
        raise  # the row may have been stored and name the object: keep it
    except BaseException:
        blobs.delete_objects(blobs.object_keys([], offloaded))
        raise
    if outcome is not StoreOutcome.CREATED:
        blobs.delete_objects(blobs.object_keys([], offloaded))  # the row that would name it is not
    earlier = None
    if outcome is StoreOutcome.REPLAYED and data.id_chosen_by:
        # A retry whose answer was lost, re-signed in the same second, is the same bytes: the id
        # it names is stored, so it is that submission's duplicate, not a refused replay.
        earlier = _stored(tenant, submission)
        if earlier is not None:
            outcome = StoreOutcome.DUPLICATE
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
        earlier = earlier or Submission.objects.get(
            tenant=tenant, submission_id=submission.submission_id
        )
        if data.id_chosen_by and not _same_payload(earlier, submission):
            raise _conflict(data.id_chosen_by, earlier)
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


def _stored(tenant: Tenant, submission: Submission) -> Submission | None:
    """The submission already stored under this one's submission_id, if there is one."""
    return Submission.objects.filter(tenant=tenant, submission_id=submission.submission_id).first()


def _payload_digest(submission: Submission) -> str:
    if submission.payload_object:
        return submission.payload_object["sha256"]
    encoded = json.dumps(submission.payload, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def _same_payload(earlier: Submission, again: Submission) -> bool:
    """Does a resend carry the stored payload? An erased one's is gone: a resend of it is the
    duplicate it always was (erasure keeps the id so a lead is not stored twice)."""
    if earlier.erased_at is not None:
        return True
    if not earlier.payload_object and not again.payload_object:
        return earlier.payload == again.payload
    return _payload_digest(earlier) == _payload_digest(again)


def _conflict(chosen_by: str, earlier: Submission) -> Conflict:
    name, code = (
        ("Idempotency-Key", "idempotency_conflict")
        if chosen_by == "Idempotency-Key"
        else ("submission_id", "submission_conflict")
    )
    return Conflict(
        f"{name} {earlier.submission_id!r} was already used for another payload; nothing was "
        f"stored. Send a new {name} for a new submission (the stored one is unchanged).",
        code=code,
        extra={"submission_id": earlier.submission_id},
    )


def _offload_large_payload(submission: Submission, body_size: int) -> dict | None:
    """Keep a payload over PAYLOAD_INLINE_MAX_BYTES in the attachments storage, not the row."""
    limit = settings.PAYLOAD_INLINE_MAX_BYTES
    if body_size <= limit:  # the body bounds the payload's JSON: most never serialise twice
        return None
    encoded = json.dumps(submission.payload, ensure_ascii=False, separators=(",", ":")).encode()
    if len(encoded) <= limit:
        return None
    submission.payload_object = attachments.store_payload(
        tenant_id=submission.tenant_id, submission_id=submission.submission_id, encoded=encoded
    )
    submission.payload = {}
    return submission.payload_object


def _clean_subject(subject_kind: str, subject: Any) -> str:
    field = "form_id" if subject_kind == SchemaSubject.FORM else "event_type"
    cleaned = clean_label(subject, field) if isinstance(subject, str) else ""
    if not cleaned:
        raise Invalid("must be a non-empty name", field=field)
    return cleaned


def payload_schema_check(*, subject_kind: str, subject: Any, schema: Any) -> tuple[str, Any]:
    """The subject and schema as payload_schema_set would store them, or Invalid (its field)."""
    if subject_kind not in SchemaSubject.values:
        raise Invalid(f"must be one of {', '.join(SchemaSubject.values)}", field="subject_kind")
    return _clean_subject(subject_kind, subject), schemas.clean_schema(schema)


def payload_schema_set(
    *, tenant: Tenant, subject_kind: str, subject: str, schema: Any
) -> PayloadSchema:
    """Set (or replace) the JSON Schema every payload of this form or event type must match."""
    subject, cleaned = payload_schema_check(
        subject_kind=subject_kind, subject=subject, schema=schema
    )
    with transaction.atomic():
        row, _ = PayloadSchema.objects.update_or_create(
            tenant=tenant,
            subject_kind=subject_kind,
            subject=subject,
            defaults={"schema": cleaned},
        )
    schemas.forget(tenant.id)
    return row


def payload_schema_delete(*, tenant: Tenant, subject_kind: str, subject: str) -> None:
    """Payloads of this form or event type are no longer checked."""
    deleted, _ = PayloadSchema.objects.filter(
        tenant=tenant, subject_kind=subject_kind, subject=subject
    ).delete()
    schemas.forget(tenant.id)
    if not deleted:
        raise NotFound(f"No schema for {subject_kind} {subject!r}.")


def submission_release(*, submission: Submission) -> int:
    """Release spam: the submission is accepted, counted on its day and fanned out to the
    destinations that routing chooses now. Returns the deliveries made (0 if it was not spam,
    or another operator released it first)."""
    now = timezone.now()
    with transaction.atomic():
        released = Submission.objects.filter(
            pk=submission.pk, status=SubmissionStatus.SPAM, erased_at__isnull=True
        ).update(status=SubmissionStatus.ACCEPTED, spam_reason="", updated_at=now)
        if not released:
            return 0
        submission.refresh_from_db()
        deliveries = delivery_rows([submission], delivery_routes.routes_for(submission), now)
        Delivery.objects.bulk_create(deliveries)
        count_submission(submission)
    if any(d.next_attempt_at for d in deliveries):
        transaction.on_commit(wakeup.request_drain)
    logger.info(
        "spam released",
        extra={
            "tenant_id": submission.tenant_id,
            "submission_id": submission.submission_id,
            "deliveries": len(deliveries),
        },
    )
    return len(deliveries)
