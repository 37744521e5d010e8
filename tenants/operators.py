"""Operator roles for the admin: a superuser sees every tenant; a staff user sees only the
tenants they are an operator of, with what their role's group permits.

Roles are Django groups, created on first use with their model permissions, so an agency can
give a client a read-only login to its own submissions.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import Tenant

ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    # role: {app_label.model: actions}
    "operator": {
        "tenants.tenant": ("view", "change"),
        "tenants.apikey": ("view", "add", "change"),
        "tenants.signingsecret": ("view",),
        "delivery.destination": ("view", "add", "change", "delete"),
        "delivery.delivery": ("view", "change"),
        "delivery.deadletter": ("view", "change"),
        "delivery.deliveryattempt": ("view",),
        "ingest.submission": ("view", "change"),
        "sources.source": ("view", "add", "change", "delete"),
        "webforms.form": ("view", "add", "change", "delete"),
        "ingest.payloadschema": ("view", "add", "change", "delete"),
        "reporting.dailymetric": ("view",),
    },
    "viewer": {
        "tenants.tenant": ("view",),
        "tenants.apikey": ("view",),
        "delivery.destination": ("view",),
        "delivery.delivery": ("view",),
        "delivery.deadletter": ("view",),
        "delivery.deliveryattempt": ("view",),
        "ingest.submission": ("view",),
        "sources.source": ("view",),
        "webforms.form": ("view",),
        "ingest.payloadschema": ("view",),
        "reporting.dailymetric": ("view",),
    },
}


def role_group(role: str) -> Group:
    """The group for a role, its permissions brought up to date."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose from {', '.join(ROLES)}.")
    group, _ = Group.objects.get_or_create(name=f"FormBridge {role}s")
    wanted = []
    for label, actions in ROLES[role].items():
        app_label, model = label.split(".")
        wanted += Permission.objects.filter(
            content_type__app_label=app_label,
            codename__in=[f"{action}_{model}" for action in actions],
        )
    group.permissions.set(wanted)
    return group


def operator_grant(*, user, tenant: Tenant, role: str = "operator") -> None:
    """Make `user` a staff operator of `tenant` with `role`'s permissions."""
    group = role_group(role)
    with transaction.atomic():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        for other in ROLES:
            if other != role:
                user.groups.remove(*Group.objects.filter(name=f"FormBridge {other}s"))
        user.groups.add(group)
        tenant.operators.add(user)


def operator_revoke(*, user, tenant: Tenant) -> None:
    tenant.operators.remove(user)


def operated_tenant_ids(user) -> set[str] | None:
    """The tenants this user may see; None means all of them (a superuser)."""
    if user.is_superuser:
        return None
    if not (user.is_active and user.is_staff):
        return set()
    cached = getattr(user, "_operated_tenant_ids", None)
    if cached is None:
        cached = set(user.operated_tenants.values_list("id", flat=True))
        user._operated_tenant_ids = cached  # once per request: the user object is per request
    return cached
