"""Grants an upgrade gives: what a tenant's live destinations and sources already named outside
its own space, when references and AWS targets became bound to their tenant. Used by data
migrations (delivery 0014, sources 0002), which pass their historical Tenant model."""

from __future__ import annotations

from typing import Any

from core import crypto, secret_refs


def outside_reference(encrypted: str, tenant_id: str) -> str | None:
    """The secret a stored (encrypted) credential references outside the tenant's own path."""
    stored = crypto.decrypt(encrypted) if encrypted else ""
    secret_id = secret_refs.secret_id_of(stored) if secret_refs.is_reference(stored) else None
    if secret_id is None or secret_refs.binding(tenant_id).allows(secret_id):
        return None
    return secret_id


def grant_on_upgrade(tenant_model: Any, granted: dict[str, dict[str, set[str]]]) -> None:
    """Add each tenant's grants ({tenant id: {field: patterns}}) and say what was added."""
    for tenant in tenant_model.objects.filter(id__in=list(granted)):
        added = {field: patterns for field, patterns in granted[tenant.id].items() if patterns}
        if not added:
            continue
        for field, patterns in added.items():
            setattr(tenant, field, sorted(set(getattr(tenant, field)) | patterns))
        tenant.save(update_fields=list(added))
        listed = sorted(p for patterns in added.values() for p in patterns)
        print(f"\n  {tenant.id}: granted what it already used: {listed}")
