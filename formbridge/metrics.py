"""Prometheus metrics, served at /metrics.

Every web and worker process writes its counters to files under PROMETHEUS_MULTIPROC_DIR (set
in settings before prometheus_client is imported), and /metrics adds them up, so one scrape of
any web process sees the whole host. Figures the database already holds (due and dead
deliveries, the oldest due one) are read at scrape time from partial indexes.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .errors import error_response

INGEST_REQUESTS = Counter(
    "formbridge_ingest_requests_total",
    "Ingest requests answered, by endpoint and HTTP status.",
    ["endpoint", "status"],
)
INGEST_LATENCY = Histogram(
    "formbridge_ingest_request_duration_seconds",
    "Time to answer an ingest request, by endpoint.",
    ["endpoint"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DELIVERIES = Counter(
    "formbridge_deliveries_total",
    "Delivery attempts recorded, by destination kind and the state they left the delivery in "
    "(succeeded, retrying, dead).",
    ["kind", "outcome"],
)
POISON_DELIVERIES = Counter(
    "formbridge_delivery_poison_total",
    "Deliveries handled alone because the engine could not claim, render or record them with "
    "their batch, by stage (claim, record) and what became of them (recorded, dead).",
    ["stage", "result"],
)
ATTEMPT_LATENCY = Histogram(
    "formbridge_delivery_attempt_duration_seconds",
    "Duration of one delivery attempt (request and response), by destination kind.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30),
)


def observe_ingest(endpoint: str, status: int, started: float) -> None:
    INGEST_REQUESTS.labels(endpoint, str(status)).inc()
    INGEST_LATENCY.labels(endpoint).observe(time.perf_counter() - started)


class DeliveryBacklogCollector(Collector):
    """Due and dead deliveries and the age of the oldest due one, read at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from delivery.models import WAITING_STATUSES, Delivery, DeliveryStatus

        now = timezone.now()
        due = Delivery.objects.filter(status__in=WAITING_STATUSES, next_attempt_at__lte=now)
        expired = Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT, lease_until__lt=now)
        waiting = due.aggregate(n=Count("id"), oldest=Min("next_attempt_at"))
        oldest = waiting["oldest"]
        yield GaugeMetricFamily(
            "formbridge_deliveries_due",
            "Deliveries waiting to be sent now (retries due and expired leases included).",
            value=waiting["n"] + expired.count(),
        )
        yield GaugeMetricFamily(
            "formbridge_deliveries_dead",
            "Dead deliveries (dead letters) awaiting a redrive.",
            value=Delivery.objects.filter(status=DeliveryStatus.DEAD).count(),
        )
        yield GaugeMetricFamily(
            "formbridge_oldest_due_delivery_age_seconds",
            "How long the oldest due delivery has been due (0 when none is).",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )


def registry() -> CollectorRegistry:
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    collected.register(DeliveryBacklogCollector())
    return collected


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus text exposition of every process on this host."""
    token = settings.METRICS_TOKEN
    given = request.META.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip()
    if token and not hmac.compare_digest(given.encode(), token.encode()):
        return error_response(401, "invalid_metrics_token", "Send 'Authorization: Bearer <token>'.")
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
