"""The flush as a Celery task, for sites that run Celery (celery beat: every minute)."""

try:
    from celery import shared_task
except ImportError:  # Celery is optional: the management command does the same
    shared_task = None

if shared_task is not None:

    @shared_task(name="formbridge_client.flush", ignore_result=True)
    def formbridge_flush(limit: int = 500) -> int:
        from .outbox import flush

        return flush(limit=limit).sent
