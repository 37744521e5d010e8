"""The read floor: a minimal WSGI app serving the keyset page GET /v1/submissions serves.

One prepared statement (the first page, or the page after a cursor), the page as JSON. No
framework, no authentication, no delivery counts: FormBridge's read API is measured as a
fraction of this.
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
# Past every row: a first page is a page after "the end of time".
FIRST = ("9999-12-31T00:00:00+00:00", "ffffffff-ffff-ffff-ffff-ffffffffffff")


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
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
