"""Write to the outbox inside the site's transaction; send what is due after it commits.

    with transaction.atomic():
        lead = Lead.objects.create(...)
        outbox_submit(form_id="contact", payload={"email": lead.email})

If the transaction rolls back, nothing is sent; if it commits, the row is there. It is sent
right after commit by a background thread of this process (the saving request never waits on
FormBridge), and by every `manage.py formbridge_flush` (or the Celery task) until FormBridge has
it. Its submission_id is fixed when written, so a resend is a duplicate.

The site's database is never held across HTTP: a flush claims rows in one short transaction
(a lease, so two flushes never send one row twice), sends them outside any transaction, and
records each answer in its own short write. On SQLite a slow FormBridge therefore never locks
the site's other writes out.
"""

from __future__ import annotations

import atexit
import logging
import queue
import random
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from ..client import Client
from ..errors import FormBridgeError
from .models import OutboxMessage, OutboxStatus

logger = logging.getLogger("formbridge_client")
# Seconds to wait after the 1st, 2nd, ... failed send; the last repeats.
BACKOFF = (10, 60, 300, 900, 3600)
JITTER = 0.2
CLAIM_BATCH = 50


def _timeout() -> float:
    return float(getattr(settings, "FORMBRIDGE_TIMEOUT", 5.0))


def client() -> Client:
    """A client from FORMBRIDGE_URL, FORMBRIDGE_TENANT_ID and FORMBRIDGE_SECRET. It does not
    retry within a send: the outbox retries, with its own backoff, across flushes."""
    return Client(
        settings.FORMBRIDGE_URL,
        settings.FORMBRIDGE_TENANT_ID,
        settings.FORMBRIDGE_SECRET,
        timeout=_timeout(),
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
        transaction.on_commit(lambda: background.send(message.pk))
    return message


class BackgroundSender:
    """One thread per process sends what was committed, so the request that saved it returns
    at once. At exit it is given FORMBRIDGE_TIMEOUT to finish (a `manage.py` run, a test); a
    row it could not finish is released for the next flush, never left leased."""

    def __init__(self) -> None:
        self.waiting: queue.Queue[int] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.unfinished: set[int] = set()

    def send(self, pk: int) -> None:
        with self.lock:
            self.unfinished.add(pk)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._run, name="formbridge-outbox", daemon=True
                )
                self.thread.start()
        self.waiting.put(pk)

    def _run(self) -> None:
        while True:
            pk = self.waiting.get()
            try:
                flush(ids=[pk])
            except Exception:  # a broken send must never reach the site: the flush retries it
                logger.exception("formbridge: the background send failed; the flush will retry")
            finally:
                close_old_connections()
                connection.close()  # this thread's own connection, not the request's
                with self.lock:
                    self.unfinished.discard(pk)

    def drain(self, seconds: float) -> None:
        """Wait up to `seconds` for what is queued to be sent; release what is left (exit)."""
        deadline = time.monotonic() + seconds
        while self.unfinished and time.monotonic() < deadline:
            time.sleep(0.02)
        with self.lock:
            left = list(self.unfinished)
        if left:
            OutboxMessage.objects.filter(pk__in=left, status=OutboxStatus.PENDING).update(
                leased_until=None
            )


background = BackgroundSender()
atexit.register(lambda: background.drain(_timeout() + 1.0))


@dataclass
class FlushResult:
    sent: int = 0
    retrying: int = 0
    parked: int = 0


def _unleased(moment):
    """Pending rows no flush holds (or whose lease lapsed: a process died mid-send)."""
    return OutboxMessage.objects.filter(status=OutboxStatus.PENDING).filter(
        Q(leased_until__isnull=True) | Q(leased_until__lt=moment)
    )


def _candidates(ids: list[int] | None, limit: int, now: bool, seen: set[int]) -> list[int]:
    moment = timezone.now()
    rows = _unleased(moment).exclude(pk__in=seen)
    if not now:
        rows = rows.filter(next_attempt_at__lte=moment)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return list(rows.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit])


def _claim_one(candidates: list[int]) -> OutboxMessage | None:
    """Lease the first candidate no one else holds: a conditional UPDATE, its own short write,
    so two flushes (cron and Celery) never take one row, on any database. One row at a time:
    a process that dies mid-send strands one lease, not a batch of them."""
    moment = timezone.now()
    until = moment + timedelta(seconds=2 * _timeout() + 5)
    while candidates:
        pk = candidates.pop(0)
        taken = _unleased(moment).filter(pk=pk).update(leased_until=until)
        if taken:
            return OutboxMessage.objects.get(pk=pk)
    return None


def flush(*, limit: int = 500, ids: list[int] | None = None, now: bool = False) -> FlushResult:
    """Send every due outbox row (up to `limit`), one at a time, and record each answer.
    `now`: every pending row, due or backing off (FormBridge is back after an outage)."""
    result = FlushResult()
    sender = client()
    seen: set[int] = set()  # a row tried in this flush is not tried again in it
    while limit > 0:
        candidates = _candidates(ids, min(limit, CLAIM_BATCH), now, seen)
        if not candidates:
            break
        seen.update(candidates)
        while limit > 0 and (message := _claim_one(candidates)) is not None:
            _record(message, _attempt(sender, message), result)  # no transaction is open
            limit -= 1
        if ids is not None:
            break
    return result


def _attempt(sender: Client, message: OutboxMessage) -> FormBridgeError | None:
    body = message.envelope
    try:
        sender.submit(
            form_id=body["form_id"],
            payload=body["payload"],
            **{k: v for k, v in body.items() if k not in ("form_id", "payload")},
        )
    except FormBridgeError as exc:
        return exc
    return None


def _record(message: OutboxMessage, error: FormBridgeError | None, result: FlushResult) -> None:
    now = timezone.now()
    message.attempts += 1
    message.leased_until = None
    if error is None:
        message.status = OutboxStatus.SENT
        message.sent_at = now
        message.next_attempt_at = None
        message.last_error = ""
        result.sent += 1
    else:
        message.last_error = f"{error.status or 'unreachable'} {error.code}: {error}"[:2000]
        log = {"outbox_id": message.pk, "submission_id": message.submission_id,
               "attempts": message.attempts, "error": message.last_error}  # fmt: skip
        if error.retryable:
            delay = BACKOFF[min(message.attempts, len(BACKOFF)) - 1]
            delay *= 1 + random.uniform(-JITTER, JITTER)  # noqa: S311
            message.next_attempt_at = now + timedelta(seconds=max(delay, error.retry_after or 0))
            result.retrying += 1
            logger.warning("formbridge: send failed, will retry", extra=log)
        else:
            message.status = OutboxStatus.PARKED
            message.next_attempt_at = None
            result.parked += 1
            logger.error("formbridge: submission refused, parked", extra=log)
    message.save()


def requeue_parked(rows) -> int:
    """Parked rows (refused for good, since fixed: a secret, a schema) sent again from now."""
    return rows.filter(status=OutboxStatus.PARKED).update(
        status=OutboxStatus.PENDING, next_attempt_at=timezone.now(), attempts=0,
        leased_until=None,
    )  # fmt: skip


@dataclass
class Status:
    pending: int
    parked: int
    sent: int
    oldest_pending_seconds: float | None


def status() -> Status:
    counts = dict(OutboxMessage.objects.values_list("status").annotate(n=Count("id")).order_by())
    oldest = (
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return Status(
        pending=counts.get(OutboxStatus.PENDING, 0),
        parked=counts.get(OutboxStatus.PARKED, 0),
        sent=counts.get(OutboxStatus.SENT, 0),
        oldest_pending_seconds=(timezone.now() - oldest).total_seconds() if oldest else None,
    )
