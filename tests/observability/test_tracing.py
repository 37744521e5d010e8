"""Tracing end to end: gunicorn, a Celery worker and beat with the standard OTEL_* variables set,
exporting over OTLP/HTTP to a receiver on loopback that decodes what arrives.

One submission, two destinations, one of which fails once: a single trace holds the ingest
request, both deliveries and all three attempts, the retry included, though it is made later
and the worker holds no state between the two attempts (the context is on the delivery row).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import redis
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from core import tracing
from delivery import services as delivery_services
from delivery.models import Delivery
from tests.e2e.stack import TEST_BROKER_URL, process_env, start_celery, stop, wait_until
from tests.factories import tenant_with_secret
from tests.faults.stack import free_port, start_web
from tests.signing import signed_headers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OUTCOME = "formbridge.outcome"
# The database's name, under the semantic conventions' old and new attribute.
DB_SYSTEM, DB_SYSTEM_NAME = "db.system", "db.system.name"


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    service: str
    attributes: dict


class OtlpReceiver:
    """Accepts OTLP/HTTP protobuf exports at /v1/traces and keeps every span."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                with receiver.lock:
                    receiver.spans += list(_spans_of(request))
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def named(self, prefix: str) -> list[Span]:
        with self.lock:
            return [span for span in self.spans if span.name.startswith(prefix)]


def _spans_of(request: ExportTraceServiceRequest):
    for resource_spans in request.resource_spans:
        resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield Span(
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_id=span.parent_span_id.hex(),
                    name=span.name,
                    service=resource.get("service.name", ""),
                    attributes={a.key: _value(a.value) for a in span.attributes},
                )


def _value(value):
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@pytest.fixture
def otlp():
    receiver = OtlpReceiver()
    yield receiver
    receiver.server.shutdown()


def test_wanted_only_with_an_otlp_endpoint():
    assert not tracing.wanted({})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
    assert not tracing.wanted({**endpoint, "OTEL_SDK_DISABLED": "true"})
    assert not tracing.wanted({**endpoint, "OTEL_TRACES_EXPORTER": "none"})


def test_off_by_default_stores_no_context_and_logs_no_trace_id(signed, receiver):
    acme = tenant_with_secret("t_quiet")
    delivery_services.destination_create(
        tenant=acme.tenant, name="ok", config={"url": receiver.url("/ok")}
    )
    assert signed.post(acme, {"submission_id": "s-quiet", "payload": {}}).status_code == 202
    assert not tracing.enabled()
    assert Delivery.objects.get(submission__submission_id="s-quiet").trace_context == ""


def test_one_trace_from_ingest_through_both_deliveries_to_every_attempt(
    tmp_path, settings, otlp, receiver
):
    settings.DELIVERY_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    redis.Redis.from_url(TEST_BROKER_URL).flushdb()
    acme = tenant_with_secret("t_traced")
    receiver.set("/steady", [200])
    receiver.set("/flaky", [500, 200])
    for name in ("steady", "flaky"):
        delivery_services.destination_create(
            tenant=acme.tenant,
            name=name,
            config={"url": receiver.url(f"/{name}")},
            retry_schedule=[0.5],
        )
    env = process_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="100",
        LOG_LEVEL="INFO",
        LOG_FORMAT="json",
    )
    port, web_log, celery_log = free_port(), tmp_path / "web.log", tmp_path / "celery.log"
    web = start_web(env, port, log=web_log)
    worker = start_celery("worker", env, celery_log, "--concurrency", "1", "--without-gossip")
    beat = start_celery("beat", env, celery_log, "--schedule", str(tmp_path / "beat-schedule"))
    try:
        body = json.dumps({"submission_id": "s-traced", "payload": {"a": 1}}).encode()
        signature = signed_headers(tenant_id=acme.tenant.id, secret=acme.signing_secret, body=body)
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/ingest",
            content=body,
            headers={"Content-Type": "application/json", **signature},
        )
        assert response.status_code == 202, response.text
        wait_until(
            lambda: len(otlp.named("formbridge.attempt")) == 3,
            seconds=45,
            what=lambda: f"three attempt spans; celery log: {celery_log.read_text()[-2000:]}",
        )
    finally:
        for process in (beat, worker, web):
            stop(process)  # each flushes what it still buffers

    rows = Delivery.objects.filter(submission__submission_id="s-traced")
    assert sorted(rows.values_list("status", flat=True)) == ["succeeded", "succeeded"]
    (ingest,) = [s for s in otlp.named("POST") if s.service == "formbridge-web"]
    trace_id = ingest.trace_id
    deliveries = otlp.named("formbridge.delivery")
    attempts = otlp.named("formbridge.attempt")

    # The ingest request's trace holds both deliveries, each created under the request ...
    assert {d.trace_id for d in deliveries} == {trace_id}
    assert {d.attributes["formbridge.delivery_id"] for d in deliveries} == {
        str(i) for i in rows.values_list("id", flat=True)
    }
    under_request = {s.span_id for s in otlp.named("") if s.trace_id == trace_id}
    assert all(d.parent_id in under_request for d in deliveries)
    # ... and all three attempts, made by the worker, each under its own delivery's span: the
    # flaky one's retry joins the same trace from the context stored on its row.
    assert {a.trace_id for a in attempts} == {trace_id}
    assert {a.service for a in attempts} == {"formbridge-worker"}
    by_delivery = {d.span_id: d.attributes["formbridge.delivery_id"] for d in deliveries}
    attempted = sorted(
        (by_delivery[a.parent_id], a.attributes["formbridge.attempt"], a.attributes[OUTCOME])
        for a in attempts
    )
    flaky = str(rows.get(destination__name="flaky").id)
    steady = str(rows.get(destination__name="steady").id)
    assert attempted == sorted(
        [(steady, 1, "success"), (flaky, 1, "retryable"), (flaky, 2, "success")]
    )
    assert all(row.trace_context.split("-")[1] == trace_id for row in rows)

    # The outbound HTTP calls nest in their attempts and carry the trace to the receiver; the
    # database calls are spans of the trace too.
    clients = [s for s in otlp.named("POST") if s.service == "formbridge-worker"]
    assert {c.parent_id for c in clients} >= {a.span_id for a in attempts}
    assert {r.headers.get("traceparent", "").split("-")[1] for r in receiver.requests} == {trace_id}
    in_trace = [s for s in otlp.named("") if s.trace_id == trace_id]
    databases = {s.attributes.get(DB_SYSTEM) or s.attributes.get(DB_SYSTEM_NAME) for s in in_trace}
    assert "postgresql" in databases
    # Celery's too: the wake-up the request publishes for the worker.
    assert any(s.name.startswith("apply_async/") for s in in_trace), {s.name for s in in_trace}

    # Log lines written inside a span carry its ids.
    traced_lines = [
        line
        for line in (web_log.read_text() + celery_log.read_text()).splitlines()
        if line.startswith("{") and json.loads(line).get("trace_id") == trace_id
    ]
    assert traced_lines, "no JSON log line carries the trace id"


def test_beats_periodic_ticks_keep_a_sample_and_everything_else_keeps_all(monkeypatch):
    """Beat ticks every second: at 100 % sampling each tick was a trace of its own, all day."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from core.tracing import periodic_tick_sampler

    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    exported = InMemorySpanExporter()
    provider = TracerProvider(sampler=periodic_tick_sampler(ratio=0.01))
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracer = provider.get_tracer("test")

    for _ in range(2000):
        with tracer.start_as_current_span("run/delivery.dispatch_due"):
            pass
    ticks = len(exported.get_finished_spans())
    exported.clear()
    for _ in range(200):
        with (
            tracer.start_as_current_span("POST /v1/ingest"),
            tracer.start_as_current_span(
                "apply_async/delivery.dispatch_due"  # inside a request: its parent decides
            ),
        ):
            pass

    assert 2 <= ticks <= 60  # 1 % of 2,000, with room for chance
    assert len(exported.get_finished_spans()) == 400
