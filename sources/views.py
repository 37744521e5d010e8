"""POST /v1/sources/<token>: a provider's webhook, answered within its time limit.

A lean Django view like /v1/ingest (no DRF): providers wait for the answer and retry on a slow
one. GET, PATCH and DELETE on the same path manage the source by name (sources.api, which hands
POSTs here).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from core import logs
from core.http import client_ip, json_endpoint, read_body

from .intake import source_receive
from .presets.base import Inbound


def request_url(request: HttpRequest) -> str:
    """The URL the provider called (Twilio signs it): PUBLIC_URL's origin when set, since a
    proxy in front may not pass on the scheme and host, else what the request says."""
    if settings.PUBLIC_URL:
        return settings.PUBLIC_URL.rstrip("/") + request.get_full_path()
    return request.build_absolute_uri()


@json_endpoint("POST")
def source_receive_view(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()

    def inbound_for(limit: int) -> Inbound:
        return Inbound(
            body=read_body(request, limit=limit),
            headers={name.lower(): value for name, value in request.headers.items()},
            url=request_url(request),
            content_type=request.META.get("CONTENT_TYPE", ""),
            now=now,
        )

    received = source_receive(token=token, inbound_for=inbound_for, ip=client_ip(request), now=now)
    if received.reply is not None:
        return JsonResponse(received.reply)
    submission = received.result.submission
    logs.bind(tenant_id=submission.tenant_id)
    if received.result.created:
        return JsonResponse(
            {"submission_id": submission.submission_id, "status": "accepted"}, status=202
        )
    return JsonResponse({"submission_id": submission.submission_id, "status": "duplicate"})
