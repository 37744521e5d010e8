"""POST /v1/ingest (HMAC-signed) and POST /v1/events (API key): thin entry points."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from formbridge.errors import ApiError
from formbridge.http import client_ip, json_endpoint, read_body
from formbridge.ids import random_token
from formbridge.timeutil import epoch_ms, isoformat_z
from tenants import limits, selectors
from tenants.authentication import authenticate_api_key, check_timestamp, signature_matches
from tenants.models import ApiKeyScope, Tenant

from .parsing import decode_body, event_input_from_document, ingest_input_from_document
from .services import IngestResult, submission_ingest

# Verifying against a throwaway secret when the tenant is unknown keeps both paths equally slow.
_DECOY_SECRETS = (random_token(43),)
_SIGNATURE_HEADERS = {
    "X-Tenant-Id": "HTTP_X_TENANT_ID",
    "X-Timestamp": "HTTP_X_TIMESTAMP",
    "X-Signature": "HTTP_X_SIGNATURE",
}
_MAX_TENANT_ID_LENGTH = 63


def _store(request: HttpRequest, tenant: Tenant, data, body: bytes, now) -> IngestResult:
    result = submission_ingest(
        tenant=tenant, data=data, body=body, ip=client_ip(request), received_at=now
    )
    if result.created:
        limits.record_accepted(tenant, now=now)
    return result


@json_endpoint("POST")
def ingest(request: HttpRequest) -> JsonResponse:
    now = timezone.now()
    headers = {name: request.META.get(key, "") for name, key in _SIGNATURE_HEADERS.items()}
    missing = [name for name, value in headers.items() if not value]
    if missing:
        raise ApiError(
            401, "missing_signature_headers", f"Missing header(s): {', '.join(missing)}."
        )
    tenant_id, timestamp, signature = headers.values()
    check_timestamp(
        timestamp, now=now, tolerance_seconds=settings.INGEST_TIMESTAMP_TOLERANCE_SECONDS
    )
    credentials = (
        selectors.ingest_credentials_get(tenant_id=tenant_id, now=now)
        if len(tenant_id) <= _MAX_TENANT_ID_LENGTH
        else None
    )
    limit = (
        credentials.tenant.max_payload_bytes
        if credentials
        else settings.TENANT_DEFAULT_MAX_PAYLOAD_BYTES
    )
    body = read_body(request, limit=limit)
    verified = signature_matches(
        secrets=credentials.secrets if credentials else _DECOY_SECRETS,
        timestamp=timestamp,
        body=body,
        signature=signature,
    )
    # An unknown tenant gets the same answer as a bad signature: no tenant enumeration.
    if credentials is None or not verified:
        raise ApiError(401, "invalid_signature", "The signature does not match.")
    tenant = credentials.tenant
    if not tenant.is_active:
        raise ApiError(403, "tenant_disabled", "This tenant is disabled.")
    limits.check_limits(tenant, now=now)
    data = ingest_input_from_document(
        decode_body(body, request.META.get("CONTENT_TYPE", "")),
        form_id_header=request.META.get("HTTP_X_FORM_ID", ""),
        source_header=request.META.get("HTTP_X_SOURCE", ""),
        default_source="ingest",
    )
    result = _store(request, tenant, data, body, now)
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


@json_endpoint("POST")
def events(request: HttpRequest) -> JsonResponse:
    now = timezone.now()
    api_key = authenticate_api_key(request, scope=ApiKeyScope.INGEST)
    tenant = api_key.tenant
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
