"""Which inbox a consumer reads."""

from __future__ import annotations

from tenants.models import Tenant

from ..connectors.inbox import InboxConnector
from ..models import Destination
from ..selectors import destination_list


def inbox_destination_get(*, tenant: Tenant, name: str | None = None) -> Destination | None:
    """The tenant's inbox: the one named, or its first (most tenants have exactly one)."""
    inboxes = destination_list(tenant=tenant).filter(kind=InboxConnector.kind)
    if name:
        inboxes = inboxes.filter(name=name)
    return inboxes.order_by("created_at").first()
