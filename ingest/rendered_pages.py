"""GET /v1/submissions and GET /v1/submissions/{id} rendered to JSON by PostgreSQL, each in
one prepared statement.

The list's items are the stored columns as they are, times as `isoformat_z` prints them, and
each submission's delivery counts: PostgreSQL builds every item's JSON text itself (the
payload is spliced in as stored, never decoded and encoded again in Python) with the counts
from a correlated subquery on the delivery table's unique (submission, destination) index.
The detail is built the same way, its deliveries and their attempt logs as nested JSON
arrays. Python only joins the texts: no ORM query to compile, no rows to convert, no JSON to decode
and encode again (make bench-scale has the figures). The ORM path in
`selectors.submission_list` stays for SQLite (`make run`) and is the reference the tests hold
this one to (tests/ingest/test_rendered_pages.py).

A row with stored objects (a file, an offloaded payload) is finished in Python, which signs
their links (`delivery.stored_objects`).
"""

from __future__ import annotations

import functools
import json
from datetime import datetime

from django.db import connection

from core.cursors import decode_cursor, encode_cursor
from core.jsontext import compact_json
from delivery.models import Delivery, DeliveryAttempt, Destination
from delivery.stored_objects import with_stored_objects

from .models import Submission, SubmissionStatus

# isoformat_z: UTC, milliseconds (truncated, as Python's isoformat does), a Z.
_ISO = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""

# The submission's public fields (serializers.submission_data), alias s.
_FIELDS = """
    'submission_id', s.submission_id, 'source', s.source, 'form_id', s.form_id,
    'event_type', s.event_type, 'schema_version', s.schema_version,
    'submitted_at', {submitted}, 'received_at', {received}, 'ip', host(s.ip),
    'payload', s.payload, 'attachments', s.attachments, 'payload_bytes', s.payload_bytes,
    'payload_sha256', s.payload_sha256, 'status', s.status""".format(
    submitted=_ISO.format("s.submitted_at"), received=_ISO.format("s.received_at")
)

# A list item: the fields and the count of its deliveries in each status.
_ITEM = f"""json_build_object({_FIELDS},
    'deliveries', COALESCE((
        SELECT json_object_agg(c.status, c.n) FROM (
            SELECT d.status, count(*) AS n FROM {Delivery._meta.db_table} d
            WHERE d.submission_id = s.id GROUP BY d.status) c), '{{}}'::json)
)::text"""  # noqa: S608 (fixed fragments and a table name)

# The detail: the fields and every delivery (serializers.delivery_data) with its attempt log
# (serializers.attempt_data), oldest first, as selectors.submission_detail reads them.
_ATTEMPT = """json_build_object(
    'number', a.number, 'started_at', {started}, 'duration_ms', a.duration_ms,
    'outcome', a.outcome, 'request_method', a.request_method, 'request_url', a.request_url,
    'request_headers', a.request_headers, 'response_status', a.response_status,
    'response_headers', a.response_headers, 'response_body', a.response_body, 'error', a.error)
""".format(started=_ISO.format("a.started_at"))
_DELIVERY = """json_build_object(
    'id', d.id, 'destination', dest.name, 'destination_kind', dest.kind, 'status', d.status,
    'attempts', d.attempts, 'next_attempt_at', {next_at}, 'last_status_code', d.last_status_code,
    'last_error', d.last_error, 'delivered_at', {delivered}, 'created_at', {created},
    'updated_at', {updated},
    'attempt_log', COALESCE((
        SELECT json_agg({attempt} ORDER BY a.number, a.id) FROM {attempts} a
        WHERE a.delivery_id = d.id AND a.tenant_id = s.tenant_id), '[]'::json))
""".format(  # noqa: S608 (fixed fragments and a table name)
    next_at=_ISO.format("d.next_attempt_at"),
    delivered=_ISO.format("d.delivered_at"),
    created=_ISO.format("d.created_at"),
    updated=_ISO.format("d.updated_at"),
    attempt=_ATTEMPT,
    attempts=DeliveryAttempt._meta.db_table,
)
_DETAIL = f"""
    SELECT json_build_object({_FIELDS},
        'deliveries', COALESCE((
            SELECT json_agg({_DELIVERY} ORDER BY d.created_at, d.id)
            FROM {Delivery._meta.db_table} d
            JOIN {Destination._meta.db_table} dest ON dest.id = d.destination_id
            WHERE d.submission_id = s.id AND d.tenant_id = s.tenant_id), '[]'::json)
    )::text,
    (s.payload_object IS NOT NULL OR s.attachments <> '[]'::jsonb), s.payload_object
    FROM {Submission._meta.db_table} s
    WHERE s.tenant_id = %s AND s.submission_id = %s AND s.erased_at IS NULL
    LIMIT 1
"""  # noqa: S608 (fixed fragments and table names, values bound)

# Each optional filter, over alias s (its values bound in the order they are added).
_FILTERS = {
    "since": "s.received_at >= %s",
    "until": "s.received_at < %s",
    "form_id": "s.form_id = %s",
    "source": "s.source = %s",
    "status": (
        f"EXISTS (SELECT 1 FROM {Delivery._meta.db_table} d "  # noqa: S608 (a table name)
        "WHERE d.submission_id = s.id AND d.status = %s)"
    ),
    # The redundant `<=` bounds the index scan; the row comparison alone would be a filter.
    "cursor": "s.received_at <= %s AND (s.received_at, s.id) < (%s, %s)",
}


@functools.cache
def _sql(filters: tuple[str, ...]) -> str:
    """One statement per combination of filters (each prepared once per connection)."""
    where = ["s.tenant_id = %s", "s.erased_at IS NULL", "s.status = %s"]
    where += [_FILTERS[name] for name in filters]
    return (
        f"SELECT {_ITEM}, s.received_at, s.id, "  # noqa: S608 (fixed fragments, values bound)
        "(s.payload_object IS NOT NULL OR s.attachments <> '[]'::jsonb), s.payload_object "
        f"FROM {Submission._meta.db_table} s WHERE {' AND '.join(where)} "
        "ORDER BY s.received_at DESC, s.id DESC LIMIT %s"
    )


def supported() -> bool:
    return connection.vendor == "postgresql"


def rendered_page(
    *,
    tenant_id: str,
    limit: int = 50,
    cursor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    form_id: str | None = None,
    source: str | None = None,
    status: str | None = None,
    spam: bool = False,
) -> tuple[list[str], str | None]:
    """The page's items as JSON texts, newest first, and the next cursor (None at the end)."""
    params: list = [tenant_id, SubmissionStatus.SPAM if spam else SubmissionStatus.ACCEPTED]
    filters = []
    for name, value in (("since", since), ("until", until), ("form_id", form_id),
                        ("source", source), ("status", status)):  # fmt: skip
        if value:
            filters.append(name)
            params.append(value)
    if cursor:
        moment, last_id = decode_cursor(cursor)
        filters.append("cursor")
        params += [moment, moment, last_id]
    params.append(limit + 1)
    with connection.cursor() as db:
        db.execute(_sql(tuple(filters)), params)
        rows = db.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        _with_stored_objects(text, tenant_id, payload_object) if has_objects else text
        for text, _received_at, _id, has_objects, payload_object in rows
    ]
    last = rows[-1] if more else None
    return items, encode_cursor(last[1], last[2]) if last else None


def _with_stored_objects(text: str, tenant_id: str, payload_object) -> str:
    """An item whose files or payload live in storage: their signed links, added in Python."""
    if isinstance(payload_object, str):
        payload_object = json.loads(payload_object)
    item = with_stored_objects(
        json.loads(text), tenant_id=tenant_id, payload_object=payload_object, files_as="link"
    )
    return compact_json(item)


def rendered_detail(*, tenant_id: str, submission_id: str) -> str | None:
    """One live submission with its deliveries and every attempt, as JSON text; None if none."""
    with connection.cursor() as db:
        db.execute(_DETAIL, [tenant_id, submission_id])
        row = db.fetchone()
    if row is None:
        return None
    text, has_objects, payload_object = row
    return _with_stored_objects(text, tenant_id, payload_object) if has_objects else text
