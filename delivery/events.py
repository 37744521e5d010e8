"""The canonical event, schema 1.0: what every destination receives and the API returns.

Defined once, here: the engine builds it from a submission's columns, test sends and mapping
checks from a sample, and ingest stores SCHEMA_VERSION on each submission.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from core.timeutil import isoformat_z

SCHEMA_VERSION = "1.0"

# The submission's columns the event is made of, in this order.
EVENT_FIELDS = (
    "schema_version",
    "submission_id",
    "tenant_id",
    "source",
    "form_id",
    "event_type",
    "submitted_at",
    "received_at",
    "ip",
    "payload",
    "attachments",
)

SAMPLE_PAYLOAD = {"message": "A test event from FormBridge.", "email": "jane@example.com"}


def event_from_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The event from a submission's EVENT_FIELDS (a row read with .values(), no model)."""
    return {
        **{name: values[name] for name in EVENT_FIELDS},
        "submitted_at": isoformat_z(values["submitted_at"]),
        "received_at": isoformat_z(values["received_at"]),
    }


def sample_event(*, tenant_id: str = "t_sample", now: datetime | None = None) -> dict[str, Any]:
    """A typical event, for test sends and for checking a mapping when it is saved."""
    now = now or timezone.now()
    return event_from_values(
        {
            "schema_version": SCHEMA_VERSION,
            "submission_id": "test",
            "tenant_id": tenant_id,
            "source": "formbridge",
            "form_id": "test",
            "event_type": "formbridge.test",
            "submitted_at": now,
            "received_at": now,
            "ip": None,
            "payload": dict(SAMPLE_PAYLOAD),
            "attachments": [],
        }
    )
