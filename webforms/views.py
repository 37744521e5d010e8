"""POST /f/<form_key>: a plain HTML form (or a fetch()) from any page, with no secret in it.

A browser is answered as browsers want: a 303 to the thank-you page, or a small page of ours
(an error page that says what to fix and offers the way back). A script that asks for JSON gets
JSON, and CORS headers when its page's origin is allowed.
"""

from __future__ import annotations

import hashlib
import time

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from core import logs, metrics
from core.errors import DomainError, NotFound, TooLarge, Unsupported
from core.http import client_ip, read_body
from core.http_errors import (
    ApiError,
    api_error_response,
    as_api_error,
    database_unavailable,
    error_response,
)
from core.uploads import multipart_refusals
from ingest.parsing import form_pairs

from . import lookup
from .intake import BrowserPost, form_admit, form_receive
from .origins import is_allowed, origin_of, request_origin
from .throttle import FormRates

PREFLIGHT_MAX_AGE = "600"
# What a fetch() may send besides the CORS-safelisted headers.
ALLOWED_REQUEST_HEADERS = "Accept, Content-Type, X-Requested-With"


# Headers are read from META: request.headers builds a dict of every header, on the hot path.


def wants_json(request: HttpRequest) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    if request.META.get("HTTP_X_REQUESTED_WITH", "") == "XMLHttpRequest":
        return True
    return "application/json" in accept and "text/html" not in accept


def _cors(response: HttpResponse, request: HttpRequest, allowed_origins: list[str] | None):
    """Let the page's script read the answer when its origin may post here."""
    origin = request.META.get("HTTP_ORIGIN", "")
    response["Vary"] = "Origin"
    if origin and allowed_origins is not None and is_allowed(allowed_origins, origin_of(origin)):
        response["Access-Control-Allow-Origin"] = origin
    return response


def _read_post(request: HttpRequest, live: lookup.LiveForm, rates: FormRates) -> BrowserPost:
    """The fields and files, within the tenant's body limit plus the form's file allowance.
    The rate verdict is enforced once a small body is read (its round trip overlapped the
    reading), and before a multipart body is parsed (files are not parsed for a refusal)."""
    form = live.form
    media_type = request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    ip = client_ip(request)
    if media_type == "application/x-www-form-urlencoded":
        body = read_body(request, limit=form.tenant.max_payload_bytes)
        fields = form_pairs(body)
        rates.enforce()
        return BrowserPost(
            fields=fields, size=len(body), sha256=hashlib.sha256(body).hexdigest(), ip=ip
        )
    rates.enforce()
    if media_type != "multipart/form-data":
        raise Unsupported(
            f"Content-Type {media_type or 'none'!r} is not a form post; send "
            "application/x-www-form-urlencoded or multipart/form-data."
        )
    limit = form.tenant.max_payload_bytes + form.max_files * form.max_file_bytes
    size = int(request.META.get("CONTENT_LENGTH") or 0)
    if size > limit:
        raise TooLarge(f"The post is over {limit} bytes.", code="payload_too_large")
    with multipart_refusals():
        fields = [(name, value) for name, values in request.POST.lists() for value in values]
        files = [(name, upload) for name, uploads in request.FILES.lists() for upload in uploads]
    return BrowserPost(fields=fields, files=files, size=size, ip=ip)


def _back_link(request: HttpRequest) -> str:
    referer = request.META.get("HTTP_REFERER", "")
    return referer if origin_of(referer) else ""


def _refusal(request: HttpRequest, error: ApiError, live: lookup.LiveForm | None) -> HttpResponse:
    if wants_json(request):
        response = api_error_response(error)
    else:
        response = render(
            request,
            "webforms/refused.html",
            {"error": error, "back": _back_link(request)},
            status=error.status,
        )
        for name, value in error.headers.items():
            response[name] = value
    return _cors(response, request, live.form.allowed_origins if live else None)


def _preflight(request: HttpRequest, live: lookup.LiveForm | None) -> HttpResponse:
    origin = request_origin({"origin": request.META.get("HTTP_ORIGIN", "")})
    if live is None:
        return error_response(404, "not_found", "No form at this URL (or it is disabled).")
    if not is_allowed(live.form.allowed_origins, origin):
        return _cors(
            error_response(403, "origin_not_allowed", "This page's origin may not post here."),
            request,
            None,
        )
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Methods"] = "POST"
    response["Access-Control-Allow-Headers"] = ALLOWED_REQUEST_HEADERS
    response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return _cors(response, request, live.form.allowed_origins)


@csrf_exempt
def form_post_view(request: HttpRequest, form_key: str) -> HttpResponse:
    started = time.perf_counter()
    response = _answer(request, form_key)
    metrics.observe_ingest("form_post", response.status_code, started)
    return response


def _answer(request: HttpRequest, form_key: str) -> HttpResponse:
    live = lookup.live_form(form_key)
    if request.method == "OPTIONS":
        return _preflight(request, live)
    if request.method != "POST":
        return error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed here; use POST.",
            {"Allow": "POST, OPTIONS"},
        )
    now = timezone.now()
    rates = None
    try:
        if live is None:
            raise NotFound("No form at this URL (or it is disabled).")
        logs.bind(tenant_id=live.form.tenant_id)
        page = {
            "origin": request.META.get("HTTP_ORIGIN", ""),
            "referer": request.META.get("HTTP_REFERER", ""),
        }
        rates = form_admit(live, origin=request_origin(page), ip=client_ip(request), now=now)
        received = form_receive(live, _read_post(request, live, rates), now=now)
    except (ApiError, DomainError) as refusal:
        return _refusal(request, as_api_error(refusal), live)
    except (OperationalError, InterfaceError):
        return _refusal(request, database_unavailable(), live)
    finally:
        if rates is not None:
            rates.close()  # a refusal before the verdict was read
    if wants_json(request):
        body = {"submission_id": received.submission_id, "status": "accepted"}
        return _cors(JsonResponse(body), request, live.form.allowed_origins)
    if received.next_url:
        response = HttpResponse(status=303)
        response["Location"] = received.next_url
        return _cors(response, request, live.form.allowed_origins)
    return _cors(
        render(request, "webforms/thanks.html", {"form_id": live.form.form_id}),
        request,
        live.form.allowed_origins,
    )
