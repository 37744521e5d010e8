"""The read floor: a minimal WSGI app serving the keyset page GET /v1/submissions serves.

One prepared statement (the first page, or the page after a cursor), the page as JSON. No
framework, no authentication, no delivery counts: FormBridge's read API is measured as a
fraction of this.

`/lease` is the floor of an inbox lease, which is a write: one prepared statement takes the
oldest waiting events of a destination (SKIP LOCKED), leases them and returns them, committed
once. The inbox is measured against both floors.
"""

import base64
import json
from urllib.parse import parse_qs

from bench.floor_db import db

PAGE = """
    SELECT id, submission_id, source, form_id, event_type, received_at, payload
    FROM ingest_submission
    WHERE tenant_id = %s AND (received_at, id) < (%s, %s)
    ORDER BY received_at DESC, id DESC
    LIMIT %s
"""
LEASE = """
    WITH picked AS (
        SELECT id FROM delivery_delivery
        WHERE destination_id = %s AND status = 'pending' AND next_attempt_at IS NULL
        ORDER BY created_at, id LIMIT %s FOR UPDATE SKIP LOCKED)
    UPDATE delivery_delivery d SET status = 'in_flight', attempts = d.attempts + 1,
        lease_until = now() + interval '30 seconds', lease_token = gen_random_uuid(),
        updated_at = now()
    FROM picked, ingest_submission s
    WHERE d.id = picked.id AND s.id = d.submission_id
    RETURNING s.submission_id, s.event_type, s.form_id, s.source, s.payload, s.received_at,
        d.attempts
"""
# Past every row: a first page is a page after "the end of time".
FIRST = ("9999-12-31T00:00:00+00:00", "ffffffff-ffff-ffff-ffff-ffffffffffff")


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if environ.get("PATH_INFO") == "/lease":
        return lease(environ, query, start_response)
    cursor = query.get("cursor", [""])[0]
    if cursor:
        moment, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    else:
        moment, row_id = FIRST
    limit = int(query.get("limit", ["50"])[0])
    rows = (
        db()
        .execute(PAGE, (environ.get("HTTP_X_TENANT_ID", ""), moment, row_id, limit), prepare=True)
        .fetchall()
    )
    page = [
        {
            "id": str(row[0]),
            "submission_id": row[1],
            "source": row[2],
            "form_id": row[3],
            "event_type": row[4],
            "received_at": row[5].isoformat(),
            "payload": row[6],
        }
        for row in rows
    ]
    body = json.dumps({"results": page}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def lease(environ, query, start_response):
    limit = int(query.get("limit", ["10"])[0])
    rows = (
        db()
        .execute(LEASE, (environ.get("HTTP_X_DESTINATION_ID", ""), limit), prepare=True)
        .fetchall()
    )
    events = [
        {
            "event_id": row[0],
            "event_type": row[1],
            "form_id": row[2],
            "source": row[3],
            "payload": row[4],
            "timestamp": int(row[5].timestamp() * 1000),
            "attempt": row[6],
        }
        for row in rows
    ]
    body = json.dumps({"events": events}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
