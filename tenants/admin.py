"""Admin for tenants and their credentials. Plaintext secrets and keys appear once, on the page
that answers their creation, and are never stored or shown again."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from core.admin_pages import secret_once
from tenants.admin_scope import TenantScopedAdmin, scope

from . import credentials_cache, services
from .models import ApiKey, ApiKeyScope, SigningSecret


class SigningSecretInline(admin.TabularInline):
    model = SigningSecret
    fields = ("created_at", "expires_at", "state")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Signing secrets (values are never shown again)"

    @admin.display(description="state")
    def state(self, secret: SigningSecret) -> str:
        if secret.expires_at is None:
            return "active"
        return "expired" if secret.expires_at <= timezone.now() else "active (overlap window)"

    def has_add_permission(self, request, obj=None):
        return False


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ("prefix", "name", "scopes", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


LIMIT_FIELDS = ("rate_limit_per_second", "daily_quota", "max_payload_bytes", "retention_days")


class TenantForm(forms.ModelForm):
    """Grants are lists of names or ARNs, each checked as manage.py tenants allow-* checks it."""

    def _grants(self, kind: str) -> list[str]:
        value = self.cleaned_data.get(services.GRANT_FIELDS[kind]) or []
        if not isinstance(value, list):
            raise forms.ValidationError('A list of names or ARNs: ["arn:aws:sqs:…:acme-*"]')
        try:
            return [services.clean_grant(kind, str(pattern)) for pattern in value]
        except services.CredentialError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_secret_grants(self) -> list[str]:
        return self._grants("secret")

    def clean_target_grants(self) -> list[str]:
        return self._grants("target")

    def clean_mail_senders(self) -> list[str]:
        return self._grants("sender")


class TenantAdmin(TenantScopedAdmin):
    """Registered by formbridge/admin.py, which gives it the onboarding that adds the inbox."""

    form = TenantForm

    tenant_field = "id"
    # How a tenant added here is created (a service taking tenant_id and name).
    onboard = staticmethod(services.tenant_create)
    list_display = (
        "id",
        "name",
        "is_active",
        "retention_days",
        "rate_limit_per_second",
        "daily_quota",
        "created_at",
    )
    list_filter = ("is_active",)
    search_fields = ("=id", "name")
    inlines = (SigningSecretInline, ApiKeyInline)
    filter_horizontal = ("operators",)
    actions = ("disable_tenants", "enable_tenants")
    change_form_template = "admin/formbridge/tenant_change_form.html"

    def get_fields(self, request, obj=None):
        fields = [
            "id",
            "name",
            "is_active",
            "rate_limit_per_second",
            "daily_quota",
            "max_payload_bytes",
            "retention_days",
        ]
        # What FormBridge's own authority reaches for the tenant (its grants); only a
        # superuser changes it, never the tenant's own operators.
        fields += list(services.GRANT_FIELDS.values())
        if request.user.is_superuser:
            fields.append("operators")
        return fields

    def get_readonly_fields(self, request, obj=None):
        fields = ("id", "is_active", "created_at", "updated_at") if obj else ()
        if not request.user.is_superuser:
            # A tenant's own operators (an agency's client, say) may not lift its limits.
            fields = (*fields, *LIMIT_FIELDS, *services.GRANT_FIELDS.values())
        return fields

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False  # a tenant is disabled, never deleted from here: its history stays

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            credentials_cache.forget(obj.id)
            return
        created = self.onboard(tenant_id=obj.id, name=obj.name)
        obj.created_at = created.tenant.created_at
        obj._state.adding = False
        obj.save()  # the limits and retention the form set
        request._formbridge_secrets = [("Signing secret", created.signing_secret)]

    def response_add(self, request, obj, post_url_continue=None):
        shown = getattr(request, "_formbridge_secrets", None)
        if not shown:
            return super().response_add(request, obj, post_url_continue)
        return secret_once(
            request,
            title=f"Tenant {obj.id} created",
            secrets=[("Tenant id", obj.id), *shown],
            back_url=reverse("admin:tenants_tenant_change", args=[obj.pk]),
            note="Sites sign each POST /v1/ingest with this secret (X-Tenant-Id, X-Timestamp, "
            "X-Signature). The tenant also has an inbox destination named 'inbox'.",
            admin_site=self.admin_site,
        )

    @admin.action(
        description="Disable selected tenants (ingest refuses them at once)", permissions=["change"]
    )
    def disable_tenants(self, request, queryset):
        for tenant in queryset:
            services.tenant_set_active(tenant=tenant, is_active=False)
        self.message_user(request, f"Disabled {queryset.count()} tenant(s).", messages.SUCCESS)

    @admin.action(description="Enable selected tenants", permissions=["change"])
    def enable_tenants(self, request, queryset):
        for tenant in queryset:
            services.tenant_set_active(tenant=tenant, is_active=True)
        self.message_user(request, f"Enabled {queryset.count()} tenant(s).", messages.SUCCESS)

    def get_urls(self):
        rotate = path(
            "<path:object_id>/rotate-secret/",
            self.admin_site.admin_view(self.rotate_secret_view),
            name="tenants_tenant_rotate_secret",
        )
        return [rotate, *super().get_urls()]

    def rotate_secret_view(self, request, object_id):
        tenant = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, tenant):
            raise PermissionDenied
        if request.method == "POST":
            try:
                hours = float(request.POST.get("overlap_hours", ""))
                secret = services.tenant_rotate_secret(tenant=tenant, overlap_hours=hours)
            except (ValueError, services.CredentialError) as exc:  # not a number, or refused
                self.message_user(request, f"Not rotated: {exc}", messages.ERROR)
                return redirect("admin:tenants_tenant_rotate_secret", object_id)
            return secret_once(
                request,
                title=f"New signing secret for {tenant.id}",
                secrets=[("Signing secret", secret)],
                back_url=reverse("admin:tenants_tenant_change", args=[tenant.pk]),
                note=f"The previous secret(s) keep verifying for {hours:g} hours.",
                admin_site=self.admin_site,
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Rotate the signing secret of {tenant.id}",
            "tenant": tenant,
            "opts": self.model._meta,
            "default_overlap": settings.SIGNING_SECRET_ROTATION_OVERLAP_HOURS,
            "max_overlap": services.MAX_ROTATION_OVERLAP_HOURS,
        }
        return TemplateResponse(request, "admin/formbridge/rotate_secret.html", context)


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiKeyScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiKeyScope.INGEST],
    )

    class Meta:
        model = ApiKey
        fields = ("tenant", "name", "scopes")


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    list_display = ("prefix", "tenant", "name", "scopes", "created_at", "last_used_at", "status")
    search_fields = ("=prefix", "name")
    readonly_fields = (
        "prefix",
        "tenant",
        "name",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ("revoke_keys",)

    @admin.display(description="status")
    def status(self, api_key: ApiKey) -> str:
        return (
            format_html('<span class="fb-revoked">revoked</span>')
            if api_key.revoked_at
            else "active"
        )

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_fields(self, request, obj=None):
        return ("tenant", "name", "scopes") if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the key's history (last use) stays visible

    def save_model(self, request, obj, form, change):
        if change:
            return
        created = services.api_key_create(
            tenant=form.cleaned_data["tenant"], name=obj.name, scopes=form.cleaned_data["scopes"]
        )
        obj.pk = created.api_key.pk
        obj.prefix = created.api_key.prefix
        request._formbridge_secrets = [("API key", created.key)]

    def response_add(self, request, obj, post_url_continue=None):
        return secret_once(
            request,
            title=f"API key {obj.prefix}… created",
            secrets=request._formbridge_secrets,
            back_url=reverse("admin:tenants_apikey_changelist"),
            note="Send it as 'Authorization: Bearer <key>'.",
            admin_site=self.admin_site,
        )

    @admin.action(
        description="Revoke selected API keys (they fail at once)", permissions=["change"]
    )
    def revoke_keys(self, request, queryset):
        revoked = 0
        for api_key in scope(queryset, request).filter(revoked_at__isnull=True):
            services.api_key_revoke(prefix=api_key.prefix)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)
