"""Amazon S3: one object per submission, under a key template, encrypted at rest.

The key template's fields: {tenant}, {form_id}, {source}, {event_type}, {submission_id},
{date} (YYYY-MM-DD of received_at), {year}, {month}, {day}, {hour}. The same submission always
lands on the same key, so a re-send overwrites the object with the same bytes.
"""

from __future__ import annotations

import json
import re
import string
from datetime import datetime
from typing import Any

from core.errors import Invalid
from delivery import mapping
from delivery.models import AttemptOutcome

from . import aws, aws_targets
from .base import Clock, Job, Outcome, invalid_as, mapped

DEFAULT_KEY_TEMPLATE = "submissions/{tenant}/{date}/{submission_id}.json"
KEY_FIELDS = frozenset(
    {"tenant", "form_id", "source", "event_type", "submission_id", "date", "year", "month", "day",
     "hour"}
)  # fmt: skip
BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
ENCRYPTION = ("AES256", "aws:kms")
# Characters a key may not carry from the event: path tricks and control characters.
_UNSAFE = re.compile(r"[^\w.\-=@]")


def _key_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def object_key(template: str, event: dict[str, Any]) -> str:
    received = datetime.fromisoformat(event["received_at"].replace("Z", "+00:00"))
    values = {
        "tenant": event["tenant_id"],
        "form_id": event.get("form_id") or "",
        "source": event.get("source") or "",
        "event_type": event.get("event_type") or "",
        "submission_id": event["submission_id"],
        "date": received.strftime("%Y-%m-%d"),
        "year": received.strftime("%Y"),
        "month": received.strftime("%m"),
        "day": received.strftime("%d"),
        "hour": received.strftime("%H"),
    }
    safe = {name: _UNSAFE.sub("_", value)[:128] or "_" for name, value in values.items()}
    return template.format(**safe)


def known_prefix(template: str, tenant_id: str) -> str:
    """The start every key of this template has: its literal text and {tenant}, up to the first
    field that varies per event."""
    known = []
    for literal, name, _, _ in string.Formatter().parse(template):
        known.append(literal)
        if name is None:
            continue
        if name != "tenant":
            break
        known.append(tenant_id)
    return "".join(known)


class S3Connector(aws.AwsConnector):
    kind = "s3"
    config_help = '{"bucket", "key_template", "server_side_encryption", "kms_key_id", "mapping"}'
    label = "Amazon S3 bucket"

    def validate(self, config: dict[str, Any]) -> dict[str, Any]:
        bucket = config.get("bucket")
        if not isinstance(bucket, str) or not BUCKET.fullmatch(bucket):
            raise Invalid("an S3 bucket name", field="bucket")
        template = config.get("key_template", DEFAULT_KEY_TEMPLATE)
        try:
            fields = _key_fields(template) if isinstance(template, str) else None
        except ValueError:
            fields = None
        if fields is None or not template or len(template) > 512:
            raise Invalid("a key template such as " + DEFAULT_KEY_TEMPLATE, field="key_template")
        if fields - KEY_FIELDS or "submission_id" not in fields:
            raise Invalid(
                f"may use {', '.join(sorted(KEY_FIELDS))} and must use {{submission_id}}",
                field="key_template",
            )
        encryption = config.get("server_side_encryption", "AES256")
        if encryption not in ENCRYPTION:
            raise Invalid(f"one of {', '.join(ENCRYPTION)}", field="server_side_encryption")
        if config.get("kms_key_id") is not None and encryption != "aws:kms":
            raise Invalid("needs server_side_encryption aws:kms", field="kms_key_id")
        if config.get("mapping") is not None:
            with invalid_as("mapping"):
                mapping.validate(config["mapping"])
        return aws.validate_common(
            {**config, "key_template": template, "server_side_encryption": encryption}
        )

    def own_targets(self, config: dict[str, Any], tenant_id: str) -> tuple[aws_targets.Target, ...]:
        prefix = known_prefix(config.get("key_template", DEFAULT_KEY_TEMPLATE), tenant_id)
        region = aws_targets.region_of(config)
        arn = f"arn:{aws_targets.partition(region)}:s3:::{config['bucket']}/{prefix}"
        return (aws_targets.Target("bucket", arn, prefix=True),)

    async def send(self, job: Job) -> Outcome:
        clock = Clock()
        config = job.destination.config
        key = object_key(config["key_template"], job.event)
        url = f"s3://{config['bucket']}/{key}"
        rendered = await mapped(clock, job, config.get("mapping"), request_url=url)
        if isinstance(rendered, Outcome):
            return rendered
        body = json.dumps(rendered, separators=(",", ":")).encode()
        params: dict[str, Any] = {
            "Bucket": config["bucket"],
            "Key": key,
            "Body": body,
            "ContentType": "application/json",
            "ServerSideEncryption": config["server_side_encryption"],
            # S3 metadata is ASCII: ids and names only, never payload values.
            "Metadata": {
                "submission-id": job.submission_id,
                "tenant-id": job.event["tenant_id"],
                "form-id": _UNSAFE.sub("_", job.event.get("form_id") or "")[:128],
                "event-type": _UNSAFE.sub("_", job.event.get("event_type") or "")[:128],
                "delivery-id": str(job.delivery_id),
            },
        }
        if config.get("kms_key_id"):
            params["SSEKMSKeyId"] = config["kms_key_id"]
        client = aws.client("s3", job.destination)
        try:
            reply = await aws.run(client.put_object, **params)
        except Exception as exc:
            return aws.failure(
                clock, exc, operation="PutObject", url=url,
                permanent_codes=frozenset({"NoSuchBucket", "AccessDenied"}),
            )  # fmt: skip
        return clock.outcome(
            AttemptOutcome.SUCCESS,
            status_code=aws.http_status(reply),
            request_method="PUT",
            request_url=url,
            request_headers={"x-amz-operation": "PutObject", "content-length": str(len(body))},
            response_body=aws.summary(
                {
                    "ETag": reply.get("ETag"),
                    "ServerSideEncryption": reply.get("ServerSideEncryption"),
                }
            ),
        )
