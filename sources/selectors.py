"""Reads for sources, always scoped by tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from core.http import public_origin
from tenants.models import Tenant

from .models import Source


def source_get(*, tenant: Tenant, name: str) -> Source | None:
    return Source.objects.live().filter(tenant=tenant, name=name).first()


def source_list(*, tenant: Tenant) -> QuerySet[Source]:
    return Source.objects.live().filter(tenant=tenant)


def source_url(source: Source, request_origin: str = "") -> str:
    return f"{public_origin(request_origin)}/v1/sources/{source.token}"
