"""Helpers for the lean JSON endpoints (ingest runs without DRF: it is the hot path)."""

from __future__ import annotations

import functools
import ipaddress
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from . import metrics
from .errors import DomainError
from .http_errors import (
    ApiError,
    api_error_response,
    as_api_error,
    database_unavailable,
    error_response,
)

logger = logging.getLogger("formbridge.ingest")


def json_endpoint(*methods: str) -> Callable:
    """CSRF-exempt (callers sign or carry keys, not cookies), method-checked, refusals
    (ApiError, domain errors) → JSON, counted and timed in the ingest metrics under the view's
    name."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        endpoint = view.__name__

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            started = time.perf_counter()
            response = _answer(view, methods, request, *args, **kwargs)
            metrics.observe_ingest(endpoint, response.status_code, started)
            return response

        return csrf_exempt(wrapper)

    return decorate


def _answer(view, methods, request: HttpRequest, *args, **kwargs) -> HttpResponse:
    if request.method not in methods:
        return error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed here; use {', '.join(methods)}.",
            {"Allow": ", ".join(methods)},
        )
    try:
        return view(request, *args, **kwargs)
    except (ApiError, DomainError) as refusal:
        error = as_api_error(refusal)
        logger.info("request refused", extra={"code": error.code, "status": error.status})
        return api_error_response(error)
    except (OperationalError, InterfaceError) as error:
        # Nothing was stored (the statement that stores is atomic): the sender must retry.
        # Django drops the broken connection at the end of the request, so the next reconnects.
        logger.error("database unavailable", extra={"error": type(error).__name__})
        return api_error_response(database_unavailable())


def payload_too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"The body is larger than {limit} bytes.")


def read_body(request: HttpRequest, *, limit: int) -> bytes:
    """Read at most `limit` bytes; refuse a larger body before buffering it where we can."""
    declared = request.META.get("CONTENT_LENGTH")
    if declared:
        try:
            length = int(declared)
        except ValueError:
            raise ApiError(
                400, "invalid_content_length", "Content-Length is not a number."
            ) from None
        if length > limit:
            raise payload_too_large(limit)
        return request.read()
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        # Django reads nothing without Content-Length; the WSGI server has de-chunked the stream.
        body = request.META["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            raise payload_too_large(limit)
        return body
    return b""


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the address our trusted proxies saw, as configured by TRUSTED_PROXY_COUNT."""
    candidate = request.META.get("REMOTE_ADDR", "")
    if settings.TRUSTED_PROXY_COUNT:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h]
        if len(hops) >= settings.TRUSTED_PROXY_COUNT:
            candidate = hops[-settings.TRUSTED_PROXY_COUNT]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def public_origin(request_origin: str = "") -> str:
    """Where clients reach FormBridge: PUBLIC_URL, else the request's own, else make run's."""
    origin = settings.PUBLIC_URL or request_origin or f"http://127.0.0.1:{settings.PORT}"
    return origin.rstrip("/")
