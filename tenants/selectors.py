"""Reads for tenants and credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from formbridge import crypto

from .models import ApiKey, SigningSecret, Tenant
from .services import hash_api_key


@dataclass(frozen=True)
class IngestCredentials:
    tenant: Tenant
    secrets: tuple[str, ...]


def tenant_get(*, tenant_id: str) -> Tenant | None:
    return Tenant.objects.filter(pk=tenant_id).first()


def tenant_list() -> QuerySet[Tenant]:
    return Tenant.objects.all()


def ingest_credentials_get(*, tenant_id: str, now: datetime) -> IngestCredentials | None:
    """The tenant and every signing secret that verifies at `now`, in one query."""
    rows = list(
        SigningSecret.objects.select_related("tenant")
        .filter(tenant_id=tenant_id)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    )
    if not rows:
        return None
    return IngestCredentials(
        tenant=rows[0].tenant,
        secrets=tuple(crypto.decrypt(row.secret_encrypted) for row in rows),
    )


def signing_secrets_active(*, tenant: Tenant, now: datetime) -> QuerySet[SigningSecret]:
    return SigningSecret.objects.filter(tenant=tenant).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def api_key_get_by_raw(*, raw_key: str) -> ApiKey | None:
    return ApiKey.objects.select_related("tenant").filter(key_hash=hash_api_key(raw_key)).first()


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(tenant=tenant)
