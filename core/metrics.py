"""The Prometheus counters and histograms every process writes to.

Each web and worker process writes them to files under PROMETHEUS_MULTIPROC_DIR (set in
settings before prometheus_client is imported); formbridge/metrics_endpoint.py adds them up
at /metrics.
"""

from __future__ import annotations

import time

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


def observe_ingest(endpoint: str, status: int, started: float) -> None:
    INGEST_REQUESTS.labels(endpoint, str(status)).inc()
    INGEST_LATENCY.labels(endpoint).observe(time.perf_counter() - started)
