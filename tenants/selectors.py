"""Reads for tenants and credentials."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from .models import ApiKey, SigningSecret, Tenant
from .services import hash_api_key


def tenant_get(*, tenant_id: str) -> Tenant | None:
    return Tenant.objects.filter(pk=tenant_id).first()


def tenant_list() -> QuerySet[Tenant]:
    return Tenant.objects.all()


def signing_secrets_active(*, tenant: Tenant, now: datetime) -> QuerySet[SigningSecret]:
    return SigningSecret.objects.filter(tenant=tenant).unexpired(now)


def api_key_get_by_raw(*, raw_key: str) -> ApiKey | None:
    # key_hash is unique: no ORDER BY (first() would add one), at most one row.
    found = ApiKey.objects.select_related("tenant").filter(key_hash=hash_api_key(raw_key))[:1]
    return next(iter(found), None)


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(tenant=tenant)
