"""Fan-out at ingest: one pending delivery per submission and route.

Ingest stores a submission and its deliveries in one statement on PostgreSQL; this module owns
the deliveries' part of it (`fan_out_fragment`), so ingest never spells delivery's columns.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection

from core.db import CteFragment, prepared_values, typed_placeholders

from . import lifecycle, ordering
from .models import Delivery
from .routes import Route


def delivery_rows(
    submissions: Iterable[Any], routes: Iterable[Route], now: datetime
) -> list[Delivery]:
    """One pending delivery per submission and route (unsaved); pull routes wait undue."""
    routes = list(routes)
    return [
        lifecycle.new(
            tenant_id=submission.tenant_id,
            submission=submission,
            destination_id=route.id,
            pull=route.waits_for_pull,
            now=now,
            ordering_key=ordering.key_of(route.ordering_key, _keyed(submission))
            if route.ordering_key
            else None,
        )
        for submission in submissions
        for route in routes
    ]


def _keyed(submission: Any) -> dict[str, Any]:
    """What an ordering key may read of a submission: the event's fields."""
    return {
        "tenant_id": submission.tenant_id,
        "submission_id": submission.submission_id,
        "source": submission.source,
        "form_id": submission.form_id,
        "event_type": submission.event_type,
        "payload": submission.payload,
    }


@functools.cache
def _fan_out_sql(source: str, count: int, vendor: str) -> str:
    quote = connection.ops.quote_name
    meta = Delivery._meta
    columns = ", ".join(quote(f.column) for f in meta.concrete_fields)
    # The submission's id is not known before the statement runs: it comes from `source`.
    values = typed_placeholders(Delivery, connection, fed="submission_id").format(f"{source}.id")
    select = f"SELECT {values} FROM {source}"  # noqa: S608 (names, not values)
    return (
        f"fanned_out AS (INSERT INTO {quote(meta.db_table)} ({columns}) "
        + " UNION ALL ".join([select] * count)
        + ")"
    )


def fan_out_fragment(source: str, deliveries: list[Delivery]) -> CteFragment | None:
    """Insert `deliveries` for the submission row that CTE `source` returns (none if it returns
    none: a duplicate fans out nothing). None when there is nothing to insert."""
    if not deliveries:
        return None
    params: list = []
    for delivery in deliveries:
        params += prepared_values(delivery, connection, skip="submission_id")
    return CteFragment(_fan_out_sql(source, len(deliveries), connection.vendor), params)
