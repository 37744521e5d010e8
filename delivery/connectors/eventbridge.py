"""Amazon EventBridge: one event per delivery on a bus, PutEvents 10 at a time.

Source is config.source (default "formbridge"), DetailType the submission's event type, Detail
the canonical event (or its mapping). A batch's failed entries get their own retryable or
permanent outcome: only they are sent again, alone, never their batch.
"""

from __future__ import annotations

import json
import re
from typing import Any

from core.errors import Invalid
from delivery import mapping
from delivery.models import AttemptOutcome

from . import aws
from .base import Clock, Job, Outcome, invalid_as
from .batching import Batcher

BUS = re.compile(r"(arn:aws[\w-]*:events:[\w-]+:\d{12}:event-bus/)?[\w.\-/]{1,256}")
SOURCE = re.compile(r"(?!aws\.)[\w.\-/]{1,256}")
DEFAULT_SOURCE = "formbridge"
DEFAULT_DETAIL_TYPE = "formbridge.submission"
# PutEvents' entry-level error codes that a later try may get through.
TRANSIENT_ENTRY_CODES = frozenset({"InternalFailure", "ThrottlingException"})


class EventBridgeConnector(aws.AwsConnector):
    kind = "eventbridge"
    label = "Amazon EventBridge bus"

    def __init__(self) -> None:
        self.batcher = Batcher("eventbridge", size=10, send_group=self._send_group)

    def validate(self, config: dict[str, Any]) -> dict[str, Any]:
        bus = config.get("event_bus")
        if not isinstance(bus, str) or not BUS.fullmatch(bus):
            raise Invalid("an event bus name or ARN", field="event_bus")
        source = config.get("source", DEFAULT_SOURCE)
        if not isinstance(source, str) or not SOURCE.fullmatch(source):
            raise Invalid("1-256 characters, not starting with aws.", field="source")
        if config.get("mapping") is not None:
            with invalid_as("mapping"):
                mapping.validate(config["mapping"])
        return aws.validate_common(config)

    async def send(self, job: Job) -> Outcome:
        return await self.batcher.send(job.destination.id, job)

    def _entry(self, job: Job) -> dict[str, Any]:
        config = job.destination.config
        detail = mapping.render(job.event, config.get("mapping"))
        return {
            "EventBusName": config["event_bus"],
            "Source": config.get("source", DEFAULT_SOURCE),
            "DetailType": (job.event.get("event_type") or DEFAULT_DETAIL_TYPE)[:128],
            "Detail": json.dumps(detail, separators=(",", ":")),
            "Resources": [],
        }

    async def _send_group(self, jobs: list[Job]) -> list[Outcome]:
        clock = Clock()
        destination = jobs[0].destination
        client = aws.client("events", destination)
        url = f"{aws.endpoint(client)} {destination.config['event_bus']}"
        outcomes: dict[int, Outcome] = {}
        indexed = []
        for index, job in enumerate(jobs):
            try:
                indexed.append((index, self._entry(job)))
            except mapping.RENDER_ERRORS as exc:
                outcomes[index] = clock.outcome(
                    AttemptOutcome.PERMANENT, error=f"mapping failed: {exc}", request_url=url
                )
        if indexed:
            try:
                reply = await aws.run(client.put_events, Entries=[e for _, e in indexed])
            except Exception as exc:
                failed = aws.failure(clock, exc, operation="PutEvents", url=url)
                return [outcomes.get(i, failed) for i in range(len(jobs))]
            status = aws.http_status(reply)
            # PutEvents answers its entries in the order they were given.
            for (index, _), result in zip(indexed, reply.get("Entries", []), strict=False):
                code = result.get("ErrorCode")
                if code:
                    outcome = (
                        AttemptOutcome.RETRYABLE
                        if code in TRANSIENT_ENTRY_CODES or aws.is_transient_code(code)
                        else AttemptOutcome.PERMANENT
                    )
                    error = f"{code}: {result.get('ErrorMessage', '')}"[:500]
                else:
                    outcome, error = AttemptOutcome.SUCCESS, ""
                outcomes[index] = clock.outcome(
                    outcome,
                    status_code=status,
                    error=error,
                    request_method="POST",
                    request_url=url,
                    request_headers={"x-amz-operation": "PutEvents"},
                    response_body=aws.summary(result),
                )
        missing = clock.outcome(
            AttemptOutcome.RETRYABLE,
            error="EventBridge answered without this entry",
            request_url=url,
        )
        return [outcomes.get(i, missing) for i in range(len(jobs))]
