"""Amazon SQS: one message per delivery, sent 10 at a time with SendMessageBatch.

FIFO queues (`.fifo`) get MessageGroupId from the ordering key (config.message_group, a JMESPath
over the event, default form_id) and MessageDeduplicationId from the delivery id, so a re-send
within SQS's five-minute window is dropped by SQS itself.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from core.errors import Invalid
from delivery import mapping, ordering
from delivery.models import AttemptOutcome

from . import aws, aws_targets
from .base import Job, Outcome, invalid_as
from .batching import Batcher

QUEUE_URL = re.compile(r"https?://[^\s/]+/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?")
# sqs.<region>.amazonaws.com[.cn], or the legacy <region>.queue.amazonaws.com
_REGION_IN_HOST = re.compile(r"(?:^|\.)sqs\.(?P<a>[a-z0-9-]+)\.|^(?P<b>[a-z0-9-]+)\.queue\.")
DEFAULT_GROUP = "form_id"
# Message attributes SQS consumers can filter on without parsing the body.
ATTRIBUTES = ("event_type", "form_id", "source", "submission_id", "tenant_id")


def _attributes(event: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {"DataType": "String", "StringValue": str(event[name])}
        for name in ATTRIBUTES
        if event.get(name)
    }


class SqsConnector(aws.AwsConnector):
    kind = "sqs"
    config_help = '{"queue_url", "message_group", "mapping", "region"}'
    label = "Amazon SQS queue"

    def __init__(self) -> None:
        self.batcher = Batcher("sqs", size=10, send_group=self._send_group)

    def validate(self, config: dict[str, Any]) -> dict[str, Any]:
        url = config.get("queue_url")
        if not isinstance(url, str) or not QUEUE_URL.fullmatch(url):
            raise Invalid(
                "an SQS queue URL, https://sqs.<region>.amazonaws.com/<account>/<queue>",
                field="queue_url",
            )
        if config.get("message_group") is not None:
            with invalid_as("message_group"):
                ordering.validate(config["message_group"])
        if config.get("mapping") is not None:
            with invalid_as("mapping"):
                mapping.validate(config["mapping"])
        return aws.validate_common(config)

    def own_targets(self, config: dict[str, Any], tenant_id: str) -> tuple[aws_targets.Target, ...]:
        parts = urlsplit(config["queue_url"])
        account, queue = parts.path.strip("/").split("/")
        found = _REGION_IN_HOST.search(parts.hostname or "")
        region = (found.group("a") or found.group("b")) if found else aws_targets.region_of(config)
        arn = f"arn:{aws_targets.partition(region)}:sqs:{region}:{account}:{queue}"
        return (aws_targets.Target("queue_url", arn),)

    async def send(self, job: Job) -> Outcome:
        return await self.batcher.send(job.destination.id, job)

    def _entry(self, index: int, job: Job, body: Any) -> dict[str, Any]:
        config = job.destination.config
        entry = {
            "Id": str(index),
            "MessageBody": json.dumps(body, separators=(",", ":")),
            "MessageAttributes": _attributes(job.event),
        }
        if config["queue_url"].endswith(".fifo"):
            group = job.ordering_key
            if group is None:
                group = ordering.key_of(config.get("message_group", DEFAULT_GROUP), job.event)
            entry["MessageGroupId"] = group or "-"
            entry["MessageDeduplicationId"] = job.delivery_id.hex
        return entry

    async def _send_group(self, jobs: list[Job]) -> list[Outcome]:
        destination = jobs[0].destination
        queue_url = destination.config["queue_url"]
        client = aws.client("sqs", destination)
        return await aws.send_batch(
            jobs,
            entry=self._entry,
            call=lambda entries: client.send_message_batch(QueueUrl=queue_url, Entries=entries),
            results=_results,
            operation="SendMessageBatch",
            url=queue_url,
            service="SQS",
        )


def _results(reply: dict[str, Any], indexes: list[int]) -> dict[int, aws.EntryResult]:
    """SendMessageBatch answers by entry Id (the job's index): Successful and Failed lists."""
    results: dict[int, aws.EntryResult] = {}
    for item in reply.get("Successful", []):
        results[int(item["Id"])] = (
            AttemptOutcome.SUCCESS, "", {"MessageId": item.get("MessageId")}
        )  # fmt: skip
    for item in reply.get("Failed", []):
        code = str(item.get("Code", ""))
        transient = not item.get("SenderFault") or aws.is_transient_code(code)
        results[int(item["Id"])] = (
            AttemptOutcome.RETRYABLE if transient else AttemptOutcome.PERMANENT,
            f"{code}: {item.get('Message', '')}",
            item,
        )
    return results
