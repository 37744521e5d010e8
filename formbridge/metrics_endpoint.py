"""/metrics: the Prometheus text exposition of every process on this host.

The counters come from every process's files (core.metrics); figures the database already
holds (due and dead deliveries, the oldest due one) are read at scrape time from partial
indexes.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.http_errors import error_response
from delivery.backlog import backlog


class DeliveryBacklogCollector(Collector):
    """Due and dead deliveries and the age of the oldest due one, read at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        figures = backlog()
        yield GaugeMetricFamily(
            "formbridge_deliveries_due",
            "Deliveries waiting to be sent now (retries due and expired leases included).",
            value=figures.due,
        )
        yield GaugeMetricFamily(
            "formbridge_deliveries_dead",
            "Dead deliveries (dead letters) awaiting a redrive.",
            value=figures.dead,
        )
        yield GaugeMetricFamily(
            "formbridge_oldest_due_delivery_age_seconds",
            "How long the oldest due delivery has been due (0 when none is).",
            value=figures.oldest_due_age_seconds,
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
