"""Celery entry points for ingest: thin, idempotent."""

from celery import shared_task
from django.utils import timezone

from .retention import submissions_purge
from .storage import seen_signatures_forget


@shared_task(name="ingest.purge_expired", ignore_result=True)
def submissions_purge_expired() -> int:
    """Apply every tenant's retention (beat, hourly); a second run finds nothing to do."""
    return submissions_purge().submissions


@shared_task(name="ingest.forget_seen_signatures", ignore_result=True)
def seen_signatures_expire() -> int:
    """Every minute (beat): signatures older than the timestamp window cannot be replayed."""
    return seen_signatures_forget(now=timezone.now())
