"""Store a submission, its deliveries and its daily count, all or nothing.

On PostgreSQL it is one statement (data-modifying CTEs): the submission INSERT ... ON CONFLICT DO
NOTHING feeds the delivery rows and the daily count, so a duplicate adds nothing and no
BEGIN/COMMIT round trips are spent. Elsewhere (the embedded SQLite default) it is a transaction.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction

from core.db import insert_or_skip, prepared_values, typed_placeholders
from core.errors import Unavailable
from delivery import wakeup
from delivery.fan_out import delivery_rows, fan_out_fragment
from delivery.models import Delivery
from delivery.routes import Route
from reporting.services import Bump, daily_metrics_add, submission_count_fragment

from .models import SeenSignature, Submission, SubmissionStatus

CONFLICT_FIELDS = ("tenant", "submission_id")


class StorageUnconfirmed(Unavailable):
    """The connection broke while the statement ran: it may have committed. What it would have
    stored (files, an offloaded payload) must be kept, since the row may name it."""

    code = "storage_unconfirmed"

    def __init__(self) -> None:
        super().__init__(
            "The database connection broke while storing: the submission may or may not be "
            "stored. Send the same request again: if it was stored, the answer says so "
            "(200 duplicate, or 409 with its submission_id); if not, it is stored now.",
            retry_after=5,
        )


class StoreOutcome(enum.Enum):
    CREATED = "created"
    DUPLICATE = "duplicate"  # an earlier submission has this submission_id
    REPLAYED = "replayed"  # these exact signed bytes were stored before, within the window


def signature_key(tenant_id: str, signature: str) -> str:
    """`signature` is the canonical spelling the authentication verified (see there)."""
    digest = hashlib.sha256(signature.encode()).hexdigest()
    return f"{tenant_id}:{digest}"


@functools.cache
def _statement(guarded: bool, fragments: tuple[str, ...]) -> str:
    """Ingest's own CTEs (the signature guard, the submission) joined with the fragments other
    apps built over `inserted`, the submission row (none for a duplicate)."""
    quote = connection.ops.quote_name
    meta = Submission._meta
    columns = ", ".join(quote(f.column) for f in meta.concrete_fields)
    values = typed_placeholders(Submission, connection)
    # With a signature to guard, the submission is inserted only if the signature was new.
    guard = "WHERE EXISTS (SELECT 1 FROM seen)"
    source = f"SELECT {values} {guard}" if guarded else f"VALUES ({values})"
    parts = (
        [
            f"seen AS (INSERT INTO {quote(SeenSignature._meta.db_table)} "  # noqa: S608
            "(key, seen_at, submission_id) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1)"
        ]
        if guarded
        else []
    )
    parts.append(
        f"inserted AS (INSERT INTO {quote(meta.db_table)} ({columns}) "
        f"{source} ON CONFLICT (tenant_id, submission_id) "
        f"DO NOTHING RETURNING {quote(meta.pk.column)})"
    )
    seen = "(SELECT count(*) FROM seen)" if guarded else "1"
    clauses = ", ".join([*parts, *fragments])
    return f"WITH {clauses} SELECT {seen}, (SELECT count(*) FROM inserted)"  # noqa: S608


def submission_store(
    submission: Submission, routes: Sequence[Route], *, signature: str | None = None
) -> StoreOutcome:
    """Store the submission with one pending delivery per route and count it, all or nothing.

    With the request's signature, the same signed bytes stored before (within the window kept by
    SeenSignature) are REPLAYED and store nothing.
    """
    deliveries = delivery_rows([submission], routes, submission.received_at)
    # Spam is kept for review, not counted: the day's figure counts it if it is released.
    counted = submission.status != SubmissionStatus.SPAM
    key = signature_key(submission.tenant_id, signature) if signature else None
    if connection.vendor == "postgresql":
        fragments = [
            submission_count_fragment(
                "inserted",
                submission.tenant_id,
                submission.received_at.date(),
                submission.form_id,
            )
            if counted
            else None,
            fan_out_fragment("inserted", deliveries),
        ]
        fragments = [f for f in fragments if f]
        params = [key, submission.received_at, submission.submission_id] if key else []
        params += prepared_values(submission, connection)
        for fragment in fragments:
            params += fragment.params
        statement = _statement(key is not None, tuple(f.sql for f in fragments))
        connection.ensure_connection()  # failing here, nothing was sent: database_unavailable
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                fresh_signature, inserted = cursor.fetchone()
        except (OperationalError, InterfaceError):
            # The statement may have committed before the answer was lost: say so, never
            # "nothing was stored". The same request again settles it (duplicate, or stored).
            raise StorageUnconfirmed() from None
        created = bool(inserted)
        submission._state.adding = not created
        if not fresh_signature:
            return StoreOutcome.REPLAYED
    else:
        with transaction.atomic():
            seen = SeenSignature(
                key=key, seen_at=submission.received_at, submission_id=submission.submission_id
            )
            if key and not insert_or_skip(seen, conflict_fields=("key",)):
                return StoreOutcome.REPLAYED
            created = insert_or_skip(submission, conflict_fields=CONFLICT_FIELDS)
            if created:
                Delivery.objects.bulk_create(deliveries)
            if created and counted:
                count_submission(submission)
    if not created:
        return StoreOutcome.DUPLICATE
    if any(d.next_attempt_at for d in deliveries):
        transaction.on_commit(wakeup.request_drain)
    return StoreOutcome.CREATED


def count_submission(submission: Submission) -> None:
    """Count one accepted submission on its day, as the ingest statement's fragment does."""
    daily_metrics_add(
        [
            Bump(
                submission.tenant_id,
                submission.received_at.date(),
                submission.form_id,
                "submissions",
            )
        ]
    )


def replayed_submission_id(tenant_id: str, signature: str) -> str:
    """The submission_id that these signed bytes were stored as ("" if forgotten since)."""
    seen = SeenSignature.objects.filter(key=signature_key(tenant_id, signature)).first()
    return seen.submission_id if seen else ""


def seen_signatures_forget(*, now: datetime) -> int:
    """Drop signatures past the timestamp window: a replay that old fails the window check.

    A timestamp may be up to the tolerance in the past or the future, so a signature stays
    acceptable for twice the tolerance (and a few seconds' margin)."""
    window = timedelta(seconds=2 * settings.INGEST_TIMESTAMP_TOLERANCE_SECONDS + 5)
    deleted, _ = SeenSignature.objects.filter(seen_at__lt=now - window).delete()
    return deleted
