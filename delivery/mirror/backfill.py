"""`manage.py mirror backfill`: copy stored submissions into the mirror table, in pages written
with concurrent BatchWriteItem calls, resumable from the last page that was written.

The cursor (MirrorCursor, stream backfill) records the (received_at, id) of the last row written
and the --since it was run with; run again, a backfill goes on from there; finished, it starts
over (a re-written item is the same item).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from delivery.connectors import aws
from delivery.models import Destination, MirrorCursor, MirrorStream
from delivery.snapshots import usable_snapshot

from . import items, scope, writer

PAGE = 1000
WRITERS = 8  # BatchWriteItem calls in flight at once


@dataclass
class BackfillResult:
    destination: str
    tenant_id: str
    written: int
    resumed: bool


def _cursor(destination: Destination, since: datetime | None, restart: bool) -> MirrorCursor:
    cursor, _ = MirrorCursor.objects.get_or_create(
        destination=destination, stream=MirrorStream.BACKFILL
    )
    same_run = cursor.position.get("since") == (since.isoformat() if since else None)
    if restart or cursor.finished_at or not same_run or not cursor.position.get("after"):
        cursor.position = {"since": since.isoformat() if since else None}
        cursor.finished_at = None
        cursor.save()
    return cursor


def count_remaining(destination: Destination, *, since: datetime | None, restart: bool) -> int:
    cursor = _cursor(destination, since, restart)
    return _remaining(destination, since, cursor).count()


def _remaining(destination: Destination, since: datetime | None, cursor: MirrorCursor):
    rows = scope.submissions_in_scope(destination, since=since)
    after = cursor.position.get("after")
    if after:
        moment = parse_datetime(after["received_at"])
        rows = rows.filter(received_at__gte=moment).exclude(received_at=moment, id__lte=after["id"])
    return rows


def backfill(
    destination: Destination,
    *,
    since: datetime | None = None,
    restart: bool = False,
    progress: Callable[[int], None] | None = None,
) -> BackfillResult:
    snapshot = usable_snapshot(destination)
    client = aws.client("dynamodb", snapshot)
    table = destination.config["table"]
    shards = writer.shard_count(
        client, table, destination.tenant_id,
        default=destination.config.get("shards", settings.DYNAMODB_MIRROR_SHARDS),
    )  # fmt: skip
    cursor = _cursor(destination, since, restart)
    resumed = bool(cursor.position.get("after"))
    written = 0
    retention = destination.tenant.retention_days

    def item(row: dict[str, Any]) -> dict[str, Any]:
        return items.submission_item(
            scope.event_of(row), status=row["status"], shard_count=shards, retention_days=retention
        )

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        rows = _remaining(destination, since, cursor).iterator(chunk_size=PAGE)
        for page in scope.chunks(rows, PAGE):
            wanted = [item(row) for row in page if scope.matches(destination, row)]
            batches = [wanted[i : i + writer.BATCH_SIZE] for i in range(0, len(wanted), 25)]
            written += sum(pool.map(lambda b: writer.batch_write(client, table, b), batches))
            last = page[-1]
            # Only after the whole page is written: a crash re-writes at most this page.
            cursor.position = {
                **cursor.position,
                "after": {"received_at": last["received_at"].isoformat(), "id": str(last["id"])},
            }
            cursor.save(update_fields=["position", "updated_at"])
            if progress:
                progress(len(page))
    cursor.finished_at = timezone.now()
    cursor.save(update_fields=["finished_at", "updated_at"])
    return BackfillResult(destination.name, destination.tenant_id, written, resumed)
