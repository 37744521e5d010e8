"""Reads for delivery, always scoped by tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from tenants.models import Tenant

from .models import Destination


def destination_get(*, tenant: Tenant, name: str) -> Destination | None:
    return Destination.objects.live().filter(tenant=tenant, name=name).first()


def destination_list(*, tenant: Tenant) -> QuerySet[Destination]:
    return Destination.objects.live().filter(tenant=tenant)
