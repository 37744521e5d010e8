"""Amazon SQS: one message per delivery, sent 10 at a time with SendMessageBatch.

FIFO queues (`.fifo`) get MessageGroupId from the ordering key (config.message_group, a JMESPath
over the event, default form_id) and MessageDeduplicationId from the delivery id, so a re-send
within SQS's five-minute window is dropped by SQS itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

from core.errors import Invalid
from delivery import mapping, ordering
from delivery.models import AttemptOutcome

from . import aws
from .base import Clock, Job, Outcome, invalid_as
from .batching import Batcher

QUEUE_URL = re.compile(r"https?://[^\s/]+/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?")
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

    async def send(self, job: Job) -> Outcome:
        return await self.batcher.send(job.destination.id, job)

    def _entry(self, index: int, job: Job) -> dict[str, Any]:
        config = job.destination.config
        body = mapping.render(job.event, config.get("mapping"))
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
        clock = Clock()
        destination = jobs[0].destination
        queue_url = destination.config["queue_url"]
        outcomes: dict[int, Outcome] = {}
        entries = []
        for index, job in enumerate(jobs):
            try:
                entries.append(self._entry(index, job))
            except mapping.RENDER_ERRORS as exc:
                outcomes[index] = clock.outcome(
                    AttemptOutcome.PERMANENT, error=f"mapping failed: {exc}", request_url=queue_url
                )
        if entries:
            client = aws.client("sqs", destination)
            try:
                reply = await aws.run(
                    client.send_message_batch, QueueUrl=queue_url, Entries=entries
                )
            except Exception as exc:
                failed = aws.failure(clock, exc, operation="SendMessageBatch", url=queue_url)
                return [outcomes.get(i, failed) for i in range(len(jobs))]
            status = aws.http_status(reply)
            for item in reply.get("Successful", []):
                outcomes[int(item["Id"])] = clock.outcome(
                    AttemptOutcome.SUCCESS,
                    status_code=status,
                    request_method="POST",
                    request_url=queue_url,
                    request_headers={"x-amz-operation": "SendMessageBatch"},
                    response_body=aws.summary({"MessageId": item.get("MessageId")}),
                )
            for item in reply.get("Failed", []):
                code = str(item.get("Code", ""))
                transient = not item.get("SenderFault") or aws.is_transient_code(code)
                outcomes[int(item["Id"])] = clock.outcome(
                    AttemptOutcome.RETRYABLE if transient else AttemptOutcome.PERMANENT,
                    status_code=status,
                    error=f"{code}: {item.get('Message', '')}"[:500],
                    request_method="POST",
                    request_url=queue_url,
                    request_headers={"x-amz-operation": "SendMessageBatch"},
                    response_body=aws.summary(item),
                )
        missing = clock.outcome(
            AttemptOutcome.RETRYABLE, error="SQS answered without this entry", request_url=queue_url
        )
        return [outcomes.get(i, missing) for i in range(len(jobs))]
