"""Request authentication: HMAC-signed ingest and bearer API keys. Verify before parsing."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from core import storable
from core.http import payload_too_large, read_body
from core.http_errors import ApiError
from core.ids import random_token
from core.timeutil import isoformat_z, parse_aware_datetime

from . import credentials_cache, selectors, services
from .models import ApiKey, Tenant

_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_UNIX_SECONDS = re.compile(r"\d{1,12}(\.\d{1,9})?")
_SIGNATURE_HEADERS = {
    "X-Tenant-Id": "HTTP_X_TENANT_ID",
    "X-Timestamp": "HTTP_X_TIMESTAMP",
    "X-Signature": "HTTP_X_SIGNATURE",
}
_MAX_TENANT_ID_LENGTH = 63
# Verifying against a throwaway secret when the tenant is unknown keeps both paths equally slow.
_DECOY_SECRETS = (random_token(43),)


def parse_signature_timestamp(value: str) -> datetime | None:
    """X-Timestamp as ISO 8601 with `Z` or an offset (PHP's gmdate("c")), or Unix seconds."""
    value = value.strip()
    if _UNIX_SECONDS.fullmatch(value):
        return storable.utc_from_timestamp(float(value))
    # A naive time is ambiguous across time zones: refused rather than guessed.
    parsed = parse_aware_datetime(value)
    return storable.utc_datetime(parsed) if parsed else None


def check_timestamp(value: str, *, now: datetime, tolerance_seconds: int) -> None:
    signed_at = parse_signature_timestamp(value)
    if signed_at is None:
        raise ApiError(
            401,
            "invalid_timestamp",
            "X-Timestamp must be ISO 8601 with a zone (e.g. 2025-08-25T18:00:00Z) or Unix seconds.",
        )
    skew = abs((now - signed_at).total_seconds())
    if skew > tolerance_seconds:
        # The server's time beside the refusal: a client whose clock is off corrects by it.
        raise ApiError(
            401,
            "stale_timestamp",
            f"X-Timestamp is {int(skew)} s from server time; the window is ±{tolerance_seconds} s.",
            extra={"server_time": isoformat_z(now)},
        )


def compute_ingest_signature(secret: str, timestamp: str, body: bytes) -> str:
    """hex(hmac_sha256(secret, timestamp + "\\n" + raw_body)): the signed-ingest contract ."""
    message = timestamp.encode("utf-8", "surrogateescape") + b"\n" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def canonical_signature(signature: str) -> str:
    """The one spelling of every X-Signature form that verifies alike (case, `sha256=`, spaces):
    replay protection remembers this, so a respelled replay is still a replay."""
    return signature.strip().lower().removeprefix("sha256=")


def signature_matches(
    *, secrets: Iterable[str], timestamp: str, body: bytes, signature: str
) -> bool:
    """Constant-time check against every active secret (rotation overlap)."""
    candidate = canonical_signature(signature)
    if not _HEX_SHA256.fullmatch(candidate):
        return False
    matched = False
    for secret in secrets:
        expected = compute_ingest_signature(secret, timestamp, body)
        # No early exit: the time taken does not depend on which secret matched.
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    return matched


@dataclass(frozen=True)
class SignedRequest:
    tenant: Tenant
    body: bytes
    signature: str


def authenticate_signed_request(
    request: HttpRequest, *, now: datetime, extra_bytes: int = 0
) -> SignedRequest:
    """Check the signed-ingest HMAC headers and return the tenant and the verified raw body.

    Order matters: headers and the timestamp window first, then a bounded read of the body (the
    tenant's payload limit, plus `extra_bytes` for files a multipart body carries), then the
    signature over it. Nothing is parsed before the signature holds.
    """
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
    credentials, cached = (
        credentials_cache.get(tenant_id, now)
        if len(tenant_id) <= _MAX_TENANT_ID_LENGTH
        else (None, False)
    )
    body = read_body(
        request,
        limit=extra_bytes
        + (
            credentials.tenant.max_payload_bytes
            if credentials
            else settings.TENANT_DEFAULT_MAX_PAYLOAD_BYTES
        ),
    )

    def verified(creds: credentials_cache.IngestCredentials | None) -> bool:
        secrets = creds.secrets_at(now) if creds else ()
        return signature_matches(
            secrets=secrets or _DECOY_SECRETS, timestamp=timestamp, body=body, signature=signature
        ) and bool(secrets)

    if not verified(credentials):
        # A secret added since we cached (rotation in another process) must work at once.
        fresh = credentials_cache.refetch_after_mismatch(tenant_id, now) if cached else None
        if not verified(fresh):
            # An unknown tenant gets the same answer as a bad signature: no tenant enumeration.
            raise ApiError(401, "invalid_signature", "The signature does not match.")
        credentials = fresh
    tenant = credentials.tenant
    if len(body) > tenant.max_payload_bytes:  # the limit may have shrunk since we cached it
        raise payload_too_large(tenant.max_payload_bytes)
    if not tenant.is_active:
        raise ApiError(403, "tenant_disabled", "This tenant is disabled.")
    return SignedRequest(tenant=tenant, body=body, signature=canonical_signature(signature))


def _bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="formbridge"'}


def authenticate_api_key(request: HttpRequest, *, scope: str | None) -> ApiKey:
    """Resolve `Authorization: Bearer <key>` to a live key of an active tenant (holding `scope`,
    if one is given)."""
    raw_key = _bearer_token(request)
    if raw_key is None:
        raise ApiError(
            401,
            "missing_api_key",
            "Send your API key as 'Authorization: Bearer <key>'.",
            headers=_BEARER_CHALLENGE,
        )
    api_key = selectors.api_key_get_by_raw(raw_key=raw_key)
    if api_key is None or api_key.is_revoked:
        raise ApiError(
            401, "invalid_api_key", "The API key is unknown or revoked.", headers=_BEARER_CHALLENGE
        )
    if not api_key.tenant.is_active:
        raise ApiError(403, "tenant_disabled", "This tenant is disabled.")
    if scope is not None:
        require_scope(api_key, scope)
    services.api_key_touch(api_key=api_key, now=timezone.now())
    return api_key


def require_scope(api_key: ApiKey, scope: str) -> None:
    if scope not in api_key.scopes:
        raise ApiError(
            403,
            "insufficient_scope",
            f"This API key lacks the '{scope}' scope; create one with it "
            f"(manage.py apikeys create <tenant> --scopes {scope}).",
        )


class ApiKeyAuthentication(BaseAuthentication):
    """DRF: request.user is the key's tenant, request.auth the ApiKey; scopes: HasScope."""

    def authenticate(self, request):
        api_key = authenticate_api_key(request, scope=None)
        return api_key.tenant, api_key

    def authenticate_header(self, request) -> str:
        return _BEARER_CHALLENGE["WWW-Authenticate"]


class HasScope(BasePermission):
    """The key must hold the view's `required_scope`."""

    def has_permission(self, request, view) -> bool:
        require_scope(request.auth, view.required_scope)
        return True
