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

from . import aws, aws_targets
from .base import Job, Outcome, invalid_as
from .batching import Batcher

BUS = re.compile(r"(arn:aws[\w-]*:events:[\w-]+:\d{12}:event-bus/)?[\w.\-/]{1,256}")
SOURCE = re.compile(r"(?!aws\.)[\w.\-/]{1,256}")
DEFAULT_SOURCE = "formbridge"
DEFAULT_DETAIL_TYPE = "formbridge.submission"
# PutEvents' entry-level error codes that a later try may get through.
TRANSIENT_ENTRY_CODES = frozenset({"InternalFailure", "ThrottlingException"})


class EventBridgeConnector(aws.AwsConnector):
    kind = "eventbridge"
    config_help = '{"event_bus", "source", "mapping", "region"}'
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

    def own_targets(self, config: dict[str, Any], tenant_id: str) -> tuple[aws_targets.Target, ...]:
        bus = config["event_bus"]
        if not bus.startswith("arn:"):
            bus = aws_targets.instance_arn(config, "events", f"event-bus/{bus}")
        return (aws_targets.Target("event_bus", bus),)

    async def send(self, job: Job) -> Outcome:
        return await self.batcher.send(job.destination.id, job)

    def _entry(self, job: Job, detail: Any) -> dict[str, Any]:
        config = job.destination.config
        return {
            "EventBusName": config["event_bus"],
            "Source": config.get("source", DEFAULT_SOURCE),
            "DetailType": (job.event.get("event_type") or DEFAULT_DETAIL_TYPE)[:128],
            "Detail": json.dumps(detail, separators=(",", ":")),
            "Resources": [],
        }

    async def _send_group(self, jobs: list[Job]) -> list[Outcome]:
        destination = jobs[0].destination
        client = aws.client("events", destination)
        return await aws.send_batch(
            jobs,
            entry=lambda index, job, detail: self._entry(job, detail),
            call=lambda entries: client.put_events(Entries=entries),
            results=_results,
            operation="PutEvents",
            url=f"{aws.endpoint(client)} {destination.config['event_bus']}",
            service="EventBridge",
        )


def _results(reply: dict[str, Any], indexes: list[int]) -> dict[int, aws.EntryResult]:
    """PutEvents answers its entries in the order they were given."""
    results: dict[int, aws.EntryResult] = {}
    for index, result in zip(indexes, reply.get("Entries", []), strict=False):
        code = result.get("ErrorCode")
        if not code:
            results[index] = (AttemptOutcome.SUCCESS, "", result)
            continue
        transient = code in TRANSIENT_ENTRY_CODES or aws.is_transient_code(code)
        results[index] = (
            AttemptOutcome.RETRYABLE if transient else AttemptOutcome.PERMANENT,
            f"{code}: {result.get('ErrorMessage', '')}",
            result,
        )
    return results
