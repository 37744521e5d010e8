"""The mirror's items, built the same way from a live delivery's event and from a stored row
(backfill), so the two paths write identical items and a re-write changes nothing.

    submission  PK TENANT#{tenant}#{shard}  SK SUB#{submission_id}
                GSI1 TENANT#{tenant} / TS#{received_at}
                GSI2 TENANT#{tenant}#STATUS / {status}#{received_at}
    attempt     PK SUB#{submission_id}      SK DEST#{destination}#ATTEMPT#{n:04d}
                GSI1 TENANT#{tenant} / DELIVERY#{outcome}#{started_at}
                GSI2 DEST#{destination} / STATUS#{outcome}#{started_at}
    shards      PK TENANT#{tenant}          SK SHARDS   (shard_count, written once)
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from core.timeutil import isoformat_z

from .table import TTL_ATTRIBUTE

SHARDS_SK = "SHARDS"
# DynamoDB's item limit is 400 KB; a payload past this is recorded by size and digest only
# (its bytes stay in PostgreSQL, or in object storage when offloaded).
MAX_INLINE_PAYLOAD_BYTES = 300_000
# Links expire and differ on every render: never part of an item.
_VOLATILE = ("url", "url_expires_at", "content_base64")


def shard_of(submission_id: str, shard_count: int) -> int:
    """A stable hash (not Python's salted hash()): the same shard in every process, forever."""
    digest = hashlib.sha256(submission_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % max(1, shard_count)


def shards_item(tenant_id: str, shard_count: int) -> dict[str, Any]:
    return {"PK": f"TENANT#{tenant_id}", "SK": SHARDS_SK, "shard_count": shard_count}


def _epoch(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def submission_item(
    event: dict[str, Any], *, status: str, shard_count: int, retention_days: int | None
) -> dict[str, Any]:
    """The item of one submission, from its canonical event."""
    tenant, submission_id = event["tenant_id"], event["submission_id"]
    received_at = event["received_at"]
    item: dict[str, Any] = {
        "PK": f"TENANT#{tenant}#{shard_of(submission_id, shard_count)}",
        "SK": f"SUB#{submission_id}",
        "GSI1PK": f"TENANT#{tenant}",
        "GSI1SK": f"TS#{received_at}",
        "GSI2PK": f"TENANT#{tenant}#STATUS",
        "GSI2SK": f"{status}#{received_at}",
        "type": "submission",
        "tenant_id": tenant,
        "submission_id": submission_id,
        "status": status,
        "schema_version": event.get("schema_version", ""),
        "source": event.get("source") or "",
        "form_id": event.get("form_id") or "",
        "event_type": event.get("event_type") or "",
        "submitted_at": event.get("submitted_at") or "",
        "received_at": received_at,
        "attachments": json.dumps(
            [
                {k: v for k, v in a.items() if k not in _VOLATILE} if isinstance(a, dict) else a
                for a in event.get("attachments") or []
            ],
            separators=(",", ":"),
            sort_keys=True,
        ),
    }
    if event.get("ip"):
        item["ip"] = event["ip"]
    payload = event.get("payload")
    encoded = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str)
    if payload is None and event.get("payload_size"):  # offloaded to object storage
        item["payload_offloaded"] = True
        item["payload_size"] = int(event["payload_size"])
        item["payload_sha256"] = event.get("payload_sha256", "")
    elif len(encoded.encode()) > MAX_INLINE_PAYLOAD_BYTES:
        item["payload_truncated"] = True
        item["payload_size"] = len(encoded.encode())
        item["payload_sha256"] = hashlib.sha256(encoded.encode()).hexdigest()
    else:
        item["payload"] = encoded
    if retention_days:
        expires = _epoch(received_at) + timedelta(days=retention_days)
        item[TTL_ATTRIBUTE] = int(expires.timestamp())
    return item


def attempt_item(
    *,
    tenant_id: str,
    submission_id: str,
    destination_id: str,
    destination_name: str,
    number: int,
    outcome: str,
    started_at: datetime,
    duration_ms: int,
    status_code: int | None,
    error: str,
    retention_days: int | None,
) -> dict[str, Any]:
    at = isoformat_z(started_at)
    item: dict[str, Any] = {
        "PK": f"SUB#{submission_id}",
        "SK": f"DEST#{destination_id}#ATTEMPT#{number:04d}",
        "GSI1PK": f"TENANT#{tenant_id}",
        "GSI1SK": f"DELIVERY#{outcome}#{at}",
        "GSI2PK": f"DEST#{destination_id}",
        "GSI2SK": f"STATUS#{outcome}#{at}",
        "type": "attempt",
        "tenant_id": tenant_id,
        "submission_id": submission_id,
        "destination_id": destination_id,
        "destination": destination_name,
        "attempt": number,
        "outcome": outcome,
        "started_at": at,
        "duration_ms": duration_ms,
        "error": error[:1000],
    }
    if status_code is not None:
        item["status_code"] = status_code
    if retention_days:
        item[TTL_ATTRIBUTE] = int((started_at + timedelta(days=retention_days)).timestamp())
    return item
