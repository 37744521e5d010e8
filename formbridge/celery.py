"""The Celery app. Configuration comes from Django settings prefixed CELERY_."""

import os

from celery import Celery
from celery.signals import beat_init, worker_process_init, worker_process_shutdown

from core import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "formbridge.settings")

from django.conf import settings

# Celery takes CELERY_BROKER_URL from the environment before any configuration. The setting is
# that URL with ElastiCache's AUTH token put in (REDIS_PASSWORD): without this, the worker and
# beat on ECS connected with the URL as the task definition gives it and were refused.
if settings.CELERY_BROKER_URL:
    os.environ["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL

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
