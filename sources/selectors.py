"""Reads for sources, always scoped by tenant."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from tenants.models import Tenant

from .models import Source


def source_get(*, tenant: Tenant, name: str) -> Source | None:
    return Source.objects.live().filter(tenant=tenant, name=name).first()


def source_list(*, tenant: Tenant) -> QuerySet[Source]:
    return Source.objects.live().filter(tenant=tenant)


def public_origin(request_origin: str = "") -> str:
    """Where clients reach FormBridge: PUBLIC_URL, else the request's own, else make run's."""
    origin = settings.PUBLIC_URL or request_origin or f"http://127.0.0.1:{settings.PORT}"
    return origin.rstrip("/")


def source_url(source: Source, request_origin: str = "") -> str:
    return f"{public_origin(request_origin)}/v1/sources/{source.token}"
