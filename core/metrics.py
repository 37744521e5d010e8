"""The Prometheus counters and histograms every process writes to.

Each web and worker process writes them to files under PROMETHEUS_MULTIPROC_DIR (set in
settings before prometheus_client is imported); formbridge/metrics_endpoint.py adds them up
at /metrics. Writing one goes through count() and observe(): a metric that cannot be written
(its directory not writable, the disk full) is logged and dropped, never raised into the
request or the send it counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prometheus_client import (
    Counter,
    Histogram,
)

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


logger = logging.getLogger(__name__)
# Whether this process said that its metrics cannot be written (once: not once per request).
_reported = False


def _written(write: Callable[[], None]) -> None:
    global _reported
    try:
        write()
    except OSError as exc:
        if not _reported:
            _reported = True
            logger.error("metrics cannot be written, dropped from now on: %s", exc)


def count(counter: Counter, *labels: str) -> None:
    _written(lambda: counter.labels(*labels).inc())


def observe(histogram: Histogram, value: float, *labels: str) -> None:
    _written(lambda: histogram.labels(*labels).observe(value))


def observe_ingest(endpoint: str, status: int, started: float) -> None:
    count(INGEST_REQUESTS, endpoint, str(status))
    observe(INGEST_LATENCY, time.perf_counter() - started, endpoint)
