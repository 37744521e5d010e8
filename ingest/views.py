"""POST /v1/ingest (HMAC-signed) and POST /v1/events (API key): thin entry points."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from core import blobs, logs
from core.http import client_ip, json_endpoint, read_body
from core.timeutil import epoch_ms, isoformat_z
from tenants import limits
from tenants.authentication import authenticate_api_key, authenticate_signed_request
from tenants.models import ApiKeyScope, Tenant

from . import signed_files
from .parsing import decode_body, event_input_from_document, ingest_input_from_document
from .services import IngestResult, submission_ingest
from .storage import StorageUnconfirmed


def _store(
    request: HttpRequest, tenant: Tenant, data, body: bytes, now, signature: str | None = None
) -> IngestResult:
    result = submission_ingest(
        tenant=tenant,
        data=data,
        body=body,
        ip=client_ip(request),
        received_at=now,
        signature=signature,
    )
    if result.created:
        limits.record_accepted(tenant, now=now)
    return result


@json_endpoint("POST")
def ingest(request: HttpRequest) -> JsonResponse:
    now = timezone.now()
    content_type = request.META.get("CONTENT_TYPE", "")
    multipart = signed_files.is_multipart(content_type)
    signed = authenticate_signed_request(
        request, now=now, extra_bytes=signed_files.files_allowance() if multipart else 0
    )
    tenant, body = signed.tenant, signed.body
    logs.bind(tenant_id=tenant.id)
    limits.check_limits(tenant, now=now)
    parts = (
        signed_files.split(request, body, max_payload_bytes=tenant.max_payload_bytes)
        if multipart
        else None
    )
    data = ingest_input_from_document(
        decode_body(parts.envelope, "application/json")
        if parts
        else decode_body(body, content_type),
        form_id_header=request.META.get("HTTP_X_FORM_ID", ""),
        source_header=request.META.get("HTTP_X_SOURCE", ""),
        default_source="ingest",
    )
    if parts is None:
        result = _store(request, tenant, data, body, now, signature=signed.signature)
    else:
        result = _store_with_files(request, tenant, data, parts, now, signed.signature)
    submission = result.submission
    return JsonResponse(
        {
            "submission_id": submission.submission_id,
            "status": "accepted" if result.created else "duplicate",
            "received_at": isoformat_z(submission.received_at),
            "deliveries": result.deliveries,
        },
        status=202 if result.created else 200,
    )


def _store_with_files(request, tenant, data, parts, now, signature: str) -> IngestResult:
    """A multipart ingest: its files stored first, kept only with the submission they came in."""
    data, stored = signed_files.store_files(tenant.id, data, parts.files)
    try:
        result = _store(request, tenant, data, parts.envelope, now, signature=signature)
    except StorageUnconfirmed:
        raise  # the row may have been stored and name the files: keep them
    except BaseException:
        blobs.delete_objects(stored)
        raise
    if not result.created:
        blobs.delete_objects(stored)  # the stored submission keeps its own files
    return result


@json_endpoint("POST")
def verify(request: HttpRequest) -> JsonResponse:
    """A request signed exactly as /v1/ingest, checked and answered, never stored: a client's
    "test connection", and its clock check (server_time; a stale timestamp's 401 carries it)."""
    now = timezone.now()
    signed = authenticate_signed_request(request, now=now)
    logs.bind(tenant_id=signed.tenant.id)
    return JsonResponse(
        {"tenant_id": signed.tenant.id, "status": "ok", "server_time": isoformat_z(now)}
    )


@json_endpoint("POST")
def events(request: HttpRequest) -> JsonResponse:
    now = timezone.now()
    api_key = authenticate_api_key(request, scope=ApiKeyScope.INGEST)
    tenant = api_key.tenant
    logs.bind(tenant_id=tenant.id)
    body = read_body(request, limit=tenant.max_payload_bytes)
    limits.check_limits(tenant, now=now)
    data = event_input_from_document(
        decode_body(body, request.META.get("CONTENT_TYPE", "")),
        idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY", ""),
        form_id_header=request.META.get("HTTP_X_FORM_ID", ""),
        source_header=request.META.get("HTTP_X_SOURCE", ""),
    )
    result = _store(request, tenant, data, body, now)
    submission = result.submission
    return JsonResponse(
        {
            "event_id": submission.submission_id,
            "received_at": epoch_ms(submission.received_at),
            "status": "accepted" if result.created else "duplicate",
        },
        status=202 if result.created else 200,
    )
