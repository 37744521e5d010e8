"""Admin registrations that need more than one app."""

from django.contrib import admin

from tenants.admin import TenantAdmin
from tenants.models import Tenant

from .onboarding import tenant_onboard


@admin.register(Tenant)
class OnboardingTenantAdmin(TenantAdmin):
    """The tenant admin; a tenant added here gets its inbox, as from `manage.py tenants create`."""

    onboard = staticmethod(tenant_onboard)
