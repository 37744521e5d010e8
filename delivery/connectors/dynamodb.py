"""The DynamoDB mirror: each submission as an item of the single-table design (delivery/mirror),
written by a conditional put so a re-send is a no-op, with a TTL from the tenant's retention.

Bulk paths (backfill, the attempt log) batch with BatchWriteItem; see delivery/mirror/writer.py.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from core.errors import Invalid
from delivery.mirror import items, writer
from delivery.models import AttemptOutcome

from . import aws, aws_targets
from .base import Clock, Job, Outcome

TABLE = re.compile(r"[A-Za-z0-9_.\-]{3,255}")
MAX_SHARDS = 1000


def _put(job: Job) -> bool:
    destination = job.destination
    table = destination.config["table"]
    client = aws.client("dynamodb", destination)
    shards = writer.shard_count(
        client,
        table,
        destination.tenant_id,
        default=destination.config.get("shards", settings.DYNAMODB_MIRROR_SHARDS),
    )
    item = items.submission_item(
        job.event,
        status="accepted",  # only accepted submissions are delivered
        shard_count=shards,
        retention_days=destination.retention_days,
    )
    return writer.put_submission(client, table, item)


class DynamoDbConnector(aws.AwsConnector):
    kind = "dynamodb"
    config_help = '{"table", "shards"}'
    label = "Amazon DynamoDB mirror"

    def validate(self, config: dict[str, Any]) -> dict[str, Any]:
        table = config.get("table")
        if not isinstance(table, str) or not TABLE.fullmatch(table):
            raise Invalid("a DynamoDB table name", field="table")
        shards = config.get("shards")
        if shards is not None and (
            isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS
        ):
            raise Invalid(f"a whole number from 1 to {MAX_SHARDS}", field="shards")
        return aws.validate_common(config)

    def own_targets(self, config: dict[str, Any], tenant_id: str) -> tuple[aws_targets.Target, ...]:
        arn = aws_targets.instance_arn(config, "dynamodb", f"table/{config['table']}")
        return (aws_targets.Target("table", arn),)

    async def send(self, job: Job) -> Outcome:
        clock = Clock()
        table = job.destination.config["table"]
        url = f"dynamodb://{table}/SUB#{job.submission_id}"
        try:
            written = await aws.run(_put, job)
        except Exception as exc:
            return aws.failure(
                clock, exc, operation="PutItem", url=url,
                permanent_codes=frozenset({"ResourceNotFoundException", "ValidationException"}),
            )  # fmt: skip
        return clock.outcome(
            AttemptOutcome.SUCCESS,
            status_code=200,
            request_method="POST",
            request_url=url,
            request_headers={"x-amz-operation": "PutItem"},
            response_body="written" if written else "already mirrored (conditional put skipped)",
        )
