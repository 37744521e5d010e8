"""Writes to the mirror table: the tenant's shard count (recorded once), one submission by a
conditional put (the live connector), and many items by BatchWriteItem (backfill, attempts),
with the unprocessed ones retried.

Every function here is blocking boto3: callers on the event loop run them through
delivery.connectors.aws.run.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from .items import SHARDS_SK, shards_item

BATCH_SIZE = 25  # BatchWriteItem's limit
MAX_BATCH_TRIES = 8
_THROTTLED = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
_shard_counts: dict[tuple[str, str], int] = {}
_lock = threading.Lock()


class BatchIncomplete(Exception):
    """Items DynamoDB still had not processed after every retry."""

    def __init__(self, unprocessed: int) -> None:
        super().__init__(f"{unprocessed} items unprocessed after {MAX_BATCH_TRIES} tries")
        self.unprocessed = unprocessed


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def shard_count(client: Any, table: str, tenant_id: str, *, default: int) -> int:
    """The tenant's shard count as recorded in the table; recorded now (conditionally, so two
    writers agree) when it is not. Never changes once written: it decides every item's PK."""
    cache_key = (table, tenant_id)
    if cache_key in _shard_counts:
        return _shard_counts[cache_key]
    with _lock:  # the first sends of a batch arrive together: one of them asks DynamoDB
        if cache_key not in _shard_counts:
            _shard_counts[cache_key] = _recorded_shard_count(client, table, tenant_id, default)
        return _shard_counts[cache_key]


def _recorded_shard_count(client: Any, table: str, tenant_id: str, default: int) -> int:
    key = {"PK": f"TENANT#{tenant_id}", "SK": SHARDS_SK}
    found = client.get_item(TableName=table, Key=typed(key), ConsistentRead=True).get("Item")
    if found is None:
        try:
            client.put_item(
                TableName=table,
                Item=typed(shards_item(tenant_id, default)),
                ConditionExpression="attribute_not_exists(PK)",
            )
            count = default
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            found = client.get_item(TableName=table, Key=typed(key), ConsistentRead=True)["Item"]
    if found is not None:
        count = int(found["shard_count"]["N"])
    return count


def forget_shard_counts() -> None:
    with _lock:
        _shard_counts.clear()


def put_submission(client: Any, table: str, item: dict[str, Any]) -> bool:
    """Write a submission's item unless the same one is there: False when it already was (a
    re-send), so a retry never writes twice and never moves an item back."""
    try:
        client.put_item(
            TableName=table,
            Item=typed(item),
            ConditionExpression="attribute_not_exists(SK) OR #status <> :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": {"S": item["status"]}},
        )
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def batch_write(client: Any, table: str, items: Iterable[dict[str, Any]]) -> int:
    """Put every item, 25 per BatchWriteItem, retrying unprocessed items and throttling with
    jittered backoff; returns how many were written, raises BatchIncomplete if some never were."""
    written = 0
    chunk: list[dict[str, Any]] = []
    for item in items:
        chunk.append({"PutRequest": {"Item": typed(item)}})
        if len(chunk) == BATCH_SIZE:
            written += _write_chunk(client, table, chunk)
            chunk = []
    if chunk:
        written += _write_chunk(client, table, chunk)
    return written


def _write_chunk(client: Any, table: str, requests: list[dict[str, Any]]) -> int:
    total = len(requests)
    for attempt in range(MAX_BATCH_TRIES):
        try:
            reply = client.batch_write_item(RequestItems={table: requests})
            requests = reply.get("UnprocessedItems", {}).get(table, [])
        except ClientError as exc:
            if error_code(exc) not in _THROTTLED:
                raise
        if not requests:
            return total
        # AWS's advice for unprocessed items: back off exponentially, with jitter.
        time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311
    raise BatchIncomplete(len(requests))


def typed(item: dict[str, Any]) -> dict[str, Any]:
    """Plain values as DynamoDB's typed attribute values."""
    return {name: _value(value) for name, value in item.items()}


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    return {"S": str(value)}


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A typed item read back, as plain values (verify compares these)."""
    values = {}
    for name, attribute in item.items():
        ((kind, value),) = attribute.items()
        values[name] = int(value) if kind == "N" else value
    return values
