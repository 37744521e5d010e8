"""Write to the outbox inside the site's transaction; send what is due after it commits.

    with transaction.atomic():
        lead = Lead.objects.create(...)
        outbox_submit(form_id="contact", payload={"email": lead.email})

If the transaction rolls back, nothing is sent; if it commits, the row is there, and it is sent
right after commit (best effort) and by every `manage.py formbridge_flush` (or the Celery task)
until FormBridge has it. Its submission_id is fixed when written, so a resend is a duplicate.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..client import Client
from ..errors import FormBridgeError
from .models import OutboxMessage, OutboxStatus

logger = logging.getLogger("formbridge_client")
# Seconds to wait after the 1st, 2nd, ... failed send; the last repeats.
BACKOFF = (10, 60, 300, 900, 3600)
JITTER = 0.2


def client() -> Client:
    """A client from FORMBRIDGE_URL, FORMBRIDGE_TENANT_ID and FORMBRIDGE_SECRET. It does not
    retry within a send: the outbox retries, with its own backoff, across flushes."""
    return Client(
        settings.FORMBRIDGE_URL,
        settings.FORMBRIDGE_TENANT_ID,
        settings.FORMBRIDGE_SECRET,
        timeout=getattr(settings, "FORMBRIDGE_TIMEOUT", 5.0),
        max_retries=0,
    )


def outbox_submit(
    *,
    form_id: str,
    payload: dict[str, Any],
    submission_id: str | None = None,
    send_on_commit: bool = True,
    **envelope: Any,
) -> OutboxMessage:
    """Queue a submission in the site's current transaction (or on its own, outside one).
    Extra keyword arguments go into the envelope (source, event_type, attachments...)."""
    body = Client.envelope(
        form_id=form_id, payload=payload, submission_id=submission_id, **envelope
    )
    message = OutboxMessage.objects.create(
        submission_id=body["submission_id"],
        form_id=form_id,
        envelope=body,
        next_attempt_at=timezone.now(),
    )
    if send_on_commit and getattr(settings, "FORMBRIDGE_SEND_ON_COMMIT", True):
        transaction.on_commit(lambda: _send_quietly(message.pk))
    return message


def _send_quietly(pk: int) -> None:
    """The on-commit send: never raises into the site's request (the flush is the backstop)."""
    try:
        flush(ids=[pk])
    except Exception:  # a broken send must not break the page that saved the lead
        logger.exception("formbridge: the on-commit send failed; the flush will retry")


@dataclass
class FlushResult:
    sent: int = 0
    retrying: int = 0
    parked: int = 0


def _due(ids: list[int] | None, limit: int, now: bool, seen: set[int]):
    rows = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exclude(pk__in=seen)
    if not now:
        rows = rows.filter(next_attempt_at__lte=timezone.now())
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    if connection.features.has_select_for_update_skip_locked:
        # Two flushes at once (cron and Celery) never send the same row twice.
        rows = rows.select_for_update(skip_locked=True)
    return rows.order_by("next_attempt_at", "id")[:limit]


def flush(*, limit: int = 500, ids: list[int] | None = None, now: bool = False) -> FlushResult:
    """Send every due outbox row (up to `limit`), one at a time, and record each answer.
    `now`: every pending row, due or backing off (FormBridge is back after an outage)."""
    result = FlushResult()
    sender = client()
    seen: set[int] = set()
    while True:
        with transaction.atomic():
            # A row tried in this flush is not tried again in it, even if it is still due.
            batch = list(_due(ids, min(limit, 50), now, seen))
            seen.update(m.pk for m in batch)
            for message in batch:
                _send(sender, message, result)
        limit -= len(batch)
        if not batch or limit <= 0 or ids is not None:
            return result


def _send(sender: Client, message: OutboxMessage, result: FlushResult) -> None:
    now = timezone.now()
    message.attempts += 1
    try:
        body = message.envelope
        sender.submit(
            form_id=body["form_id"],
            payload=body["payload"],
            **{k: v for k, v in body.items() if k not in ("form_id", "payload")},
        )
    except FormBridgeError as exc:
        message.last_error = f"{exc.status or 'unreachable'} {exc.code}: {exc}"[:2000]
        if exc.retryable:
            delay = BACKOFF[min(message.attempts, len(BACKOFF)) - 1]
            delay *= 1 + random.uniform(-JITTER, JITTER)  # noqa: S311
            message.next_attempt_at = now + timedelta(seconds=max(delay, exc.retry_after or 0))
            result.retrying += 1
        else:
            message.status = OutboxStatus.PARKED
            message.next_attempt_at = None
            result.parked += 1
            logger.error(
                "formbridge: submission refused, parked",
                extra={"submission_id": message.submission_id, "error": message.last_error},
            )
    else:
        message.status = OutboxStatus.SENT
        message.sent_at = now
        message.next_attempt_at = None
        message.last_error = ""
        result.sent += 1
    message.save()
