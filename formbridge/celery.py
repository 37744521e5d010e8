"""The Celery app. Configuration comes from Django settings prefixed CELERY_."""

import os

from celery import Celery
from celery.signals import beat_init, worker_process_init, worker_process_shutdown

from core import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "formbridge.settings")

app = Celery("formbridge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Tracing starts in each pool process after the fork (its exporter thread would not survive
# one) and flushes before the process exits.
@worker_process_init.connect(weak=False)
def _trace_worker(**_: object) -> None:
    tracing.configure("worker")


@worker_process_shutdown.connect(weak=False)
def _flush_traces(**_: object) -> None:
    tracing.shutdown()


@beat_init.connect(weak=False)
def _trace_beat(**_: object) -> None:
    tracing.configure("beat")
