"""What a tenant may name of FormBridge's shared resources: its secret references' binding."""

from __future__ import annotations

from core import secret_refs

from .models import Tenant


def secret_binding(tenant: Tenant) -> secret_refs.Binding:
    """The tenant's own path under SECRET_REFS_PREFIX, and the secrets an operator granted it."""
    return secret_refs.binding(tenant.id, tenant.secret_grants)
