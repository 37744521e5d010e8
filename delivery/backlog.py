"""The delivery backlog as operators watch it: what is due now, how long the oldest has waited,
and the dead letters. /metrics reads it at scrape time; on AWS a beat task publishes it to
CloudWatch as embedded-metric-format log lines, which the worker service autoscales on.

Every figure is read from a partial index (delivery_due_in_order, delivery_leased,
delivery_dead), so the cost does not grow with the delivered history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from core import emf

from .models import WAITING_STATUSES, Delivery, DeliveryStatus


@dataclass(frozen=True)
class Backlog:
    due: int  # waiting to be sent now, expired leases included
    oldest_due_age_seconds: float  # 0 when nothing is due
    dead: int  # dead letters awaiting a redrive


def backlog(now: datetime | None = None) -> Backlog:
    now = now or timezone.now()
    due = Delivery.objects.filter(status__in=WAITING_STATUSES, next_attempt_at__lte=now)
    expired = Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT, lease_until__lt=now)
    waiting = due.aggregate(n=Count("id"), oldest=Min("next_attempt_at"))
    oldest = waiting["oldest"]
    return Backlog(
        due=waiting["n"] + expired.count(),
        oldest_due_age_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        dead=Delivery.objects.filter(status=DeliveryStatus.DEAD).count(),
    )


def dead_since(since: datetime) -> int:
    """Deliveries that went dead after `since` (a dead row's updated_at is when it died)."""
    return Delivery.objects.filter(status=DeliveryStatus.DEAD, updated_at__gt=since).count()


FAILING_DESTINATIONS_PUBLISHED = 50  # CloudWatch bills each metric: the worst ones only


def failing_destinations() -> list[tuple[str, int]]:
    """The destinations with deliveries waiting after a failed attempt ("tenant/name", how many),
    worst first: one destination's outage shows even while the others deliver. Read from the
    due-deliveries index (a retrying delivery always has its next attempt time)."""
    rows = (
        Delivery.objects.filter(status=DeliveryStatus.RETRYING, next_attempt_at__isnull=False)
        .values("destination__tenant_id", "destination__name")
        .annotate(n=Count("id"))
        .order_by("-n")[:FAILING_DESTINATIONS_PUBLISHED]
    )
    return [(f"{r['destination__tenant_id']}/{r['destination__name']}", r["n"]) for r in rows]


def publish(
    now: datetime | None = None,
    *,
    namespace: str | None = None,
    environment: str | None = None,
    period_seconds: float | None = None,
) -> dict | None:
    """Write the backlog as one CloudWatch EMF line (None without a namespace: the argument, or
    CLOUDWATCH_METRICS_NAMESPACE). Beat's schedule passes the settings it was started with, so
    the worker that runs the task publishes whatever its own environment holds.
    `formbridge_dead_letters` counts the deliveries that died in the last period, so its sum
    over time is the dead-letter rate an alarm watches."""
    namespace = namespace or settings.CLOUDWATCH_METRICS_NAMESPACE
    if not namespace:
        return None
    now = now or timezone.now()
    figures = backlog(now)
    period = timedelta(seconds=period_seconds or settings.CLOUDWATCH_METRICS_PERIOD_SECONDS)
    environment = environment or settings.CLOUDWATCH_METRICS_ENVIRONMENT
    for destination, retrying in failing_destinations():
        emf.emit(
            namespace=namespace,
            dimensions={"Environment": environment, "Destination": destination},
            metrics={"formbridge_destination_deliveries_retrying": (retrying, "Count")},
            when=now,
        )
    return emf.emit(
        namespace=namespace,
        dimensions={"Environment": environment},
        metrics={
            "formbridge_deliveries_due": (figures.due, "Count"),
            "formbridge_oldest_due_delivery_age_seconds": (
                figures.oldest_due_age_seconds,
                "Seconds",
            ),
            "formbridge_deliveries_dead": (figures.dead, "Count"),
            "formbridge_dead_letters": (dead_since(now - period), "Count"),
        },
        when=now,
    )
