"""`manage.py mirror verify`: does the mirror hold what PostgreSQL holds? Counts the tenant's
submission items (each write shard's partition) against the rows in scope, and reads back a
random sample to compare item by item."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from delivery.connectors import aws
from delivery.models import Destination
from delivery.snapshots import usable_snapshot

from . import items, scope, writer

BATCH_GET = 100  # BatchGetItem's limit


@dataclass
class Report:
    destination: str
    tenant_id: str
    postgres: int
    dynamodb: int
    sampled: int
    missing: list[str] = field(default_factory=list)
    different: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.postgres == self.dynamodb and not self.missing and not self.different


def _mirror_count(client: Any, table_name: str, tenant_id: str, shards: int) -> int:
    """The tenant's submission items, counted partition by partition with consistent reads
    (exact, and cheaper than the GSI, which is only eventually consistent)."""
    total = 0
    for shard in range(shards):
        start = None
        while True:
            params: dict[str, Any] = {
                "TableName": table_name,
                "KeyConditionExpression": "PK = :pk AND begins_with(SK, :sub)",
                "ExpressionAttributeValues": {
                    ":pk": {"S": f"TENANT#{tenant_id}#{shard}"},
                    ":sub": {"S": "SUB#"},
                },
                "Select": "COUNT",
                "ConsistentRead": True,
            }
            if start:
                params["ExclusiveStartKey"] = start
            page = client.query(**params)
            total += page["Count"]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
    return total


def _read_back(client: Any, table_name: str, keys: list[dict[str, str]]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for start in range(0, len(keys), BATCH_GET):
        request = {table_name: {"Keys": [writer.typed(k) for k in keys[start : start + BATCH_GET]]}}
        while request:
            reply = client.batch_get_item(RequestItems=request)
            for item in reply["Responses"].get(table_name, []):
                plain = writer.plain(item)
                found[plain["SK"]] = plain
            request = reply.get("UnprocessedKeys") or None
    return found


def verify(destination: Destination, *, sample: int = 200) -> Report:
    client = aws.client("dynamodb", usable_snapshot(destination))
    table_name = destination.config["table"]
    shards = writer.shard_count(
        client, table_name, destination.tenant_id,
        default=destination.config.get("shards", settings.DYNAMODB_MIRROR_SHARDS),
    )  # fmt: skip
    rows = scope.submissions_in_scope(destination)
    if destination.filter:
        in_scope = [r for r in rows.iterator(chunk_size=2000) if scope.matches(destination, r)]
        postgres = len(in_scope)
        chosen = in_scope[:: max(1, len(in_scope) // max(1, sample))][:sample]
    else:
        postgres = rows.count()
        chosen = list(rows.order_by("?")[:sample])
    retention = destination.tenant.retention_days
    expected = {
        f"SUB#{row['submission_id']}": items.submission_item(
            scope.event_of(row), status=row["status"], shard_count=shards, retention_days=retention
        )
        for row in chosen
    }
    found = _read_back(
        client, table_name, [{"PK": i["PK"], "SK": i["SK"]} for i in expected.values()]
    )
    report = Report(
        destination=destination.name,
        tenant_id=destination.tenant_id,
        postgres=postgres,
        dynamodb=_mirror_count(client, table_name, destination.tenant_id, shards),
        sampled=len(expected),
    )
    for key, item in expected.items():
        stored = found.get(key)
        if stored is None:
            report.missing.append(key.removeprefix("SUB#"))
            continue
        fields = sorted(
            name for name in set(item) | set(stored) if item.get(name) != stored.get(name)
        )
        if fields:
            report.different[key.removeprefix("SUB#")] = fields
    return report
