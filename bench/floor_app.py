"""The ingest floor: a minimal WSGI app doing only the essential work of POST /v1/ingest.

Read the body, verify the HMAC over timestamp + "\\n" + body, one INSERT, one Redis push. No
framework, no validation beyond the signature. FormBridge is measured as a fraction of this.
"""

import hashlib
import hmac
import json
import os
import uuid
from datetime import UTC, datetime

import redis

from bench.floor_db import db

SECRET = os.environ["FLOOR_SECRET"].encode()
_redis = redis.Redis.from_url(os.environ["REDIS_URL"])

ACCEPTED = b"202 Accepted"
UNAUTHORIZED = b"401 Unauthorized"


def application(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    timestamp = environ.get("HTTP_X_TIMESTAMP", "")
    expected = hmac.new(SECRET, timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, environ.get("HTTP_X_SIGNATURE", "")):
        start_response("401 Unauthorized", [("Content-Type", "application/json")])
        return [b'{"error": "invalid_signature"}']
    submission_id = uuid.uuid4()
    db().execute(
        "INSERT INTO floor_submission (id, tenant_id, payload, received_at) "
        "VALUES (%s, %s, %s, %s)",
        (submission_id, environ.get("HTTP_X_TENANT_ID", ""), body.decode(), datetime.now(UTC)),
    )
    _redis.lpush("floor:queue", str(submission_id))
    response = json.dumps({"submission_id": str(submission_id), "status": "accepted"}).encode()
    start_response("202 Accepted", [("Content-Type", "application/json")])
    return [response]
