"""Celery entry points: thin, idempotent, no arguments to go stale."""

from celery import shared_task

from . import backlog, dispatcher, engine, wakeup
from .mirror.attempts import copy_all_attempts
from .mirror.scope import ensure_mirrors


@shared_task(name=wakeup.DRAIN_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliveries_drain() -> int:
    """Send due deliveries until none are left; running it twice at once is harmless."""
    return dispatcher.drain()


@shared_task(name="delivery.dispatch_due", ignore_result=True)
def deliveries_dispatch_due() -> bool:
    """Every second (beat): wake a drain if retries fell due or a worker died holding a lease."""
    return engine.has_due_work() and wakeup.request_drain()


@shared_task(name="delivery.mirror_attempts", ignore_result=True)
def mirror_attempts() -> int:
    """Every few seconds (beat): copy new delivery attempts of mirrored tenants to DynamoDB."""
    return copy_all_attempts()


@shared_task(name="delivery.ensure_mirrors", ignore_result=True)
def mirrors_ensure() -> int:
    """Every minute (beat), with DYNAMODB_MIRROR_TABLE set: each tenant's mirror destination."""
    return ensure_mirrors()


@shared_task(name="delivery.publish_backlog", ignore_result=True)
def publish_backlog(
    namespace: str | None = None, environment: str | None = None, period_seconds=None
) -> bool:
    """Every period (beat, when CLOUDWATCH_METRICS_NAMESPACE is set; its schedule passes the
    namespace, so a worker without the variable still publishes): the backlog as CloudWatch
    metrics, which the worker service scales on and the alarms watch."""
    published = backlog.publish(
        namespace=namespace, environment=environment, period_seconds=period_seconds
    )
    return published is not None
