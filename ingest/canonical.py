"""The canonical event, schema 1.0: what destinations receive and the API returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from formbridge.timeutil import isoformat_z

from .models import Submission

# The submission's columns the event is made of.
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


def canonical_event(submission: Submission) -> dict[str, Any]:
    return event_from_values({name: getattr(submission, name) for name in EVENT_FIELDS})


def event_from_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The event from a submission's EVENT_FIELDS (a row read with .values(), no model)."""
    return {
        **{name: values[name] for name in EVENT_FIELDS},
        "submitted_at": isoformat_z(values["submitted_at"]),
        "received_at": isoformat_z(values["received_at"]),
    }
