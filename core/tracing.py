"""OpenTelemetry tracing: off unless the standard OTEL_* variables point at an OTLP endpoint.

`configure(role)` runs once per serving process (a gunicorn worker as it imports the WSGI app, a
Celery pool process as it starts): it installs the SDK's tracer provider with an OTLP/HTTP
exporter and the instrumentations for Django, Celery, psycopg, aiohttp, httpx and botocore.
Everything else the SDK reads itself: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
OTEL_TRACES_SAMPLER[_ARG], OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_*.

A delivery outlives the request that created it, so its trace context is stored on its row as a
W3C `traceparent` (`context_of`): an attempt made hours later, by another process, starts its span
under it (`span`) and joins the submission's trace. When tracing is off those are no-ops and
the stored context is "".
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

logger = logging.getLogger(__name__)

_tracer = trace.get_tracer("formbridge")
_propagator = TraceContextTextMapPropagator()
_enabled = False


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces: an OTLP endpoint is set, and neither
    OTEL_SDK_DISABLED nor OTEL_TRACES_EXPORTER=none says otherwise."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() != "otlp":
        return False
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def enabled() -> bool:
    return _enabled


def configure(role: str) -> bool:
    """Start tracing in this process if the environment asks for it (idempotent); True if on.

    Call it after a fork, never before: the exporter's background thread does not survive one.
    """
    global _enabled
    if _enabled or not wanted():
        return _enabled
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if protocol and protocol != "http/protobuf":
        # Only the HTTP exporter is installed (no gRPC stack in the image); a collector such as
        # ADOT listens for both, on 4318 for this one.
        logger.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s: using http/protobuf instead", protocol)

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes: dict[str, Any] = {"formbridge.process": role}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes[SERVICE_NAME] = f"formbridge-{role}"
    provider = TracerProvider(resource=Resource.create(attributes), sampler=periodic_tick_sampler())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _instrument_libraries()
    _enabled = True
    return True


def periodic_tick_sampler(ratio: float | None = None):
    """The sampler the environment names (OTEL_TRACES_SAMPLER, parent-based always-on by
    default), except for the root spans of beat's periodic tasks: beat ticks every second, and
    at 100 % each tick was a trace of its own, every second, all day. Those keep
    TRACING_PERIODIC_TASK_RATIO of their traces (1 %); a delivery the tick starts still joins
    its submission's trace (its parent is the stored context, not the tick)."""
    from django.conf import settings
    from opentelemetry.sdk.trace import sampling

    periodic = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    thinned = sampling.TraceIdRatioBased(
        settings.TRACING_PERIODIC_TASK_RATIO if ratio is None else ratio
    )
    configured = sampling._get_from_env_or_default()  # the SDK's own reader of OTEL_TRACES_SAMPLER

    class PeriodicTickSampler(sampling.Sampler):
        def should_sample(self, parent_context, trace_id, name, *args, **kwargs):
            has_parent = trace.get_current_span(parent_context).get_span_context().is_valid
            # Celery's spans are named "apply_async/<task>" (sent) and "run/<task>" (run).
            if not has_parent and name.rpartition("/")[2] in periodic:
                return thinned.should_sample(parent_context, trace_id, name, *args, **kwargs)
            return configured.should_sample(parent_context, trace_id, name, *args, **kwargs)

        def get_description(self) -> str:
            return (
                f"PeriodicTickSampler({thinned.get_description()}, {configured.get_description()})"
            )

    return PeriodicTickSampler()


def shutdown() -> None:
    """Export what is buffered (a Celery pool process exits without running atexit)."""
    provider = trace.get_tracer_provider()
    if _enabled and hasattr(provider, "shutdown"):
        provider.shutdown()


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    DjangoInstrumentor().instrument()
    _also_in_api_middleware()
    CeleryInstrumentor().instrument()
    PsycopgInstrumentor().instrument()
    AioHttpClientInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
    BotocoreInstrumentor().instrument()


def _also_in_api_middleware() -> None:
    """The Django instrumentation adds its middleware to MIDDLEWARE; the JSON API is served with
    its own shorter chain (formbridge.wsgi), which needs it too, first as well."""
    from django.conf import settings

    added = settings.MIDDLEWARE[0]
    api_chain = getattr(settings, "API_MIDDLEWARE", None)
    if api_chain is not None and "opentelemetry" in added and added not in api_chain:
        settings.API_MIDDLEWARE = [added, *api_chain]


def context_of(name: str, attributes: Mapping[str, Any]) -> str:
    """Record a span named `name` under the current one, ended at once, and return its
    `traceparent` for storing: work done later under it joins this trace. "" when off."""
    if not _enabled:
        return ""
    span = _tracer.start_span(name, kind=trace.SpanKind.PRODUCER, attributes=dict(attributes))
    span.end()
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent", "")


@contextmanager
def span(name: str, traceparent: str, attributes: Mapping[str, Any]) -> Iterator[trace.Span]:
    """A span under a stored `traceparent` (or a new trace if there is none), current inside."""
    if not _enabled:
        yield trace.INVALID_SPAN
        return
    parent = _propagator.extract({"traceparent": traceparent}) if traceparent else None
    with _tracer.start_as_current_span(
        name, context=parent, kind=trace.SpanKind.CONSUMER, attributes=dict(attributes)
    ) as current:
        yield current


def current_ids() -> tuple[str, str] | None:
    """The current trace and span ids in hex (for log lines), or None outside any span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
