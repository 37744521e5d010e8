"""What every operator command needs from tenants."""

from __future__ import annotations

from core.cli import require

from .models import Tenant
from .selectors import tenant_get


def tenant_named(slug: str) -> Tenant:
    """The tenant with this id, or a clear command error."""
    return require(tenant_get(tenant_id=slug), f"No tenant {slug!r}.")
