"""Store a submission, its deliveries and its daily count, all or nothing.

On PostgreSQL it is one statement (data-modifying CTEs): the submission INSERT ... ON CONFLICT DO
NOTHING feeds the delivery rows and the daily count, so a duplicate adds nothing and no
BEGIN/COMMIT round trips are spent. Elsewhere (the embedded SQLite default) it is a transaction.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models, transaction

from core.db import insert_or_skip, prepared_values
from delivery import wakeup
from delivery.models import Delivery
from delivery.routes import Route
from delivery.services import delivery_rows
from reporting.models import SHARDS, DailyMetric
from reporting.services import Bump, daily_metrics_add

from .models import SeenSignature, Submission

CONFLICT_FIELDS = ("tenant", "submission_id")


def _typed_placeholders(model: type[models.Model], skip: str = "") -> str:
    """%s per column, cast to its type: values selected FROM a CTE carry no column type."""
    return ", ".join(
        "{}" if field.attname == skip else f"%s::{field.db_type(connection)}"
        for field in model._meta.concrete_fields
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
def _statement(route_count: int, guarded: bool) -> str:
    quote = connection.ops.quote_name
    submission_meta, delivery_meta = Submission._meta, Delivery._meta
    metric_table = quote(DailyMetric._meta.db_table)
    columns = ", ".join(quote(f.column) for f in submission_meta.concrete_fields)
    delivery_columns = ", ".join(quote(f.column) for f in delivery_meta.concrete_fields)
    delivery_select = _typed_placeholders(Delivery, skip="submission_id").format("inserted.id")
    seen_table = quote(SeenSignature._meta.db_table)
    # With a signature to guard, the submission is inserted only if the signature was new.
    source = (
        f"SELECT {_typed_placeholders(Submission)} WHERE EXISTS (SELECT 1 FROM seen)"  # noqa: S608
        if guarded
        else f"VALUES ({_typed_placeholders(Submission)})"
    )
    parts = (
        [
            f"seen AS (INSERT INTO {seen_table} (key, seen_at, submission_id) "  # noqa: S608
            "VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1)"
        ]
        if guarded
        else []
    )
    parts += [
        f"inserted AS (INSERT INTO {quote(submission_meta.db_table)} ({columns}) "
        f"{source} ON CONFLICT (tenant_id, submission_id) "
        f"DO NOTHING RETURNING {quote(submission_meta.pk.column)})",
        f"counted AS (INSERT INTO {metric_table} (tenant_id, day, form_id, shard, submissions, "  # noqa: S608
        "deliveries_succeeded, deliveries_retried, deliveries_dead) "
        "SELECT %s, %s::date, %s, %s, 1, 0, 0, 0 FROM inserted "
        "ON CONFLICT (tenant_id, day, form_id, shard) "
        f"DO UPDATE SET submissions = {metric_table}.submissions + 1)",
    ]
    if route_count:
        select = f"SELECT {delivery_select} FROM inserted"  # noqa: S608 (names, not values)
        selects = " UNION ALL ".join([select] * route_count)
        parts.append(
            f"fanned_out AS (INSERT INTO {quote(delivery_meta.db_table)} "
            f"({delivery_columns}) {selects})"
        )
    seen = "(SELECT count(*) FROM seen)" if guarded else "1"
    return (
        "WITH " + ", ".join(parts) + f" SELECT {seen}, (SELECT count(*) FROM inserted)"  # noqa: S608
    )


def submission_store(
    submission: Submission, routes: Sequence[Route], *, signature: str | None = None
) -> StoreOutcome:
    """Store the submission with one pending delivery per route and count it, all or nothing.

    With the request's signature, the same signed bytes stored before (within the window kept by
    SeenSignature) are REPLAYED and store nothing.
    """
    deliveries = delivery_rows([submission], routes, submission.received_at)
    key = signature_key(submission.tenant_id, signature) if signature else None
    if connection.vendor == "postgresql":
        params = [key, submission.received_at, submission.submission_id] if key else []
        params += [
            *prepared_values(submission, connection),
            submission.tenant_id,
            submission.received_at.date(),
            submission.form_id,
            random.randrange(SHARDS),  # noqa: S311 (spreads lock contention)
        ]
        for delivery in deliveries:
            params += prepared_values(delivery, connection, skip="submission_id")
        with connection.cursor() as cursor:
            cursor.execute(_statement(len(deliveries), key is not None), params)
            fresh_signature, inserted = cursor.fetchone()
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
    if not created:
        return StoreOutcome.DUPLICATE
    if any(d.next_attempt_at for d in deliveries):
        transaction.on_commit(wakeup.request_drain)
    return StoreOutcome.CREATED


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
