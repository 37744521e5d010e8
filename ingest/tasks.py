"""Celery entry points for ingest: thin, idempotent."""

from celery import shared_task

from .retention import submissions_purge


@shared_task(name="ingest.purge_expired", ignore_result=True)
def submissions_purge_expired() -> int:
    """Apply every tenant's retention (beat, hourly); a second run finds nothing to do."""
    return submissions_purge().submissions
