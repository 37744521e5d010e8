"""The canonical event, schema 1.0: what destinations receive and the API returns."""

from __future__ import annotations

from typing import Any

from formbridge.timeutil import isoformat_z

from .models import Submission


def canonical_event(submission: Submission) -> dict[str, Any]:
    return {
        "schema_version": submission.schema_version,
        "submission_id": submission.submission_id,
        "tenant_id": submission.tenant_id,
        "source": submission.source,
        "form_id": submission.form_id,
        "event_type": submission.event_type,
        "submitted_at": isoformat_z(submission.submitted_at),
        "received_at": isoformat_z(submission.received_at),
        "ip": submission.ip,
        "payload": submission.payload,
        "attachments": submission.attachments,
    }
