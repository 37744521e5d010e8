"""Tenant scoping for every admin page: a staff operator's querysets, filters, form choices,
searches and actions only ever contain their own tenants' rows (tenants.operators)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from tenants.models import Tenant
from tenants.operators import operated_tenant_ids


def scope(queryset: QuerySet, request: HttpRequest, tenant_field: str = "tenant") -> QuerySet:
    """The rows of `queryset` the request's user may see."""
    allowed = operated_tenant_ids(request.user)
    if allowed is None:
        return queryset
    return queryset.filter(**{f"{tenant_field}__in": allowed})


class TenantFilter(admin.SimpleListFilter):
    """Lists only the tenants the user may see (the stock filter would list every tenant)."""

    title = "tenant"
    parameter_name = "tenant"

    def lookups(self, request, model_admin):
        tenants = scope(Tenant.objects.all(), request, "id").values_list("id", "name")
        return [(tenant_id, f"{tenant_id} ({name})") for tenant_id, name in tenants]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(tenant_id=self.value())
        return queryset


class TenantScopedAdmin(admin.ModelAdmin):
    """Every query this admin runs goes through get_queryset, so scoping it scopes the list,
    search, filters, the change/delete/history pages (an object out of scope is "not found")
    and the actions (they get the scoped, selected queryset)."""

    tenant_field = "tenant"
    list_filter: tuple = (TenantFilter,)

    def get_queryset(self, request):
        return scope(super().get_queryset(request), request, self.tenant_field)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant":
            kwargs["queryset"] = scope(Tenant.objects.all(), request, "id")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @staticmethod
    def _has_tenants(request) -> bool:
        return operated_tenant_ids(request.user) != set()

    def has_module_permission(self, request):
        return self._has_tenants(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._has_tenants(request) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._has_tenants(request) and super().has_change_permission(request, obj)
