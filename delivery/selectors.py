"""Reads for delivery, always scoped by tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from tenants.models import Tenant

from .connectors.inbox import InboxConnector
from .models import Destination


def destination_get(*, tenant: Tenant, name: str) -> Destination | None:
    return Destination.objects.live().filter(tenant=tenant, name=name).first()


def destination_list(*, tenant: Tenant) -> QuerySet[Destination]:
    return Destination.objects.live().filter(tenant=tenant)


def inbox_destination_get(*, tenant: Tenant, name: str | None = None) -> Destination | None:
    """The tenant's inbox: the one named, or its first (most tenants have exactly one)."""
    inboxes = destination_list(tenant=tenant).filter(kind=InboxConnector.kind)
    if name:
        inboxes = inboxes.filter(name=name)
    return inboxes.order_by("created_at").first()
