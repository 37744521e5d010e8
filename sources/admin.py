"""Sources in the admin: add one (its URL and, when generated, its secret shown once), change its
options, rotate its secret, disable it. Every write goes through sources.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from core.admin_pages import secret_once
from core.errors import Invalid
from tenants.admin_scope import TenantScopedAdmin

from . import selectors, services
from .models import Source
from .presets.registry import preset_choices, preset_for


class SourceForm(forms.ModelForm):
    preset = forms.ChoiceField(choices=preset_choices())
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The provider's signing secret (write-only). On a change, a new secret is a "
        "rotation: the current ones keep verifying for SOURCE_SECRET_ROTATION_OVERLAP_HOURS.",
    )
    config = forms.JSONField(required=False, initial=dict, help_text="Preset options (JSON).")

    class Meta:
        model = Source
        fields = ("tenant", "name", "preset", "config", "enabled")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        adding = self.instance._state.adding
        try:
            services.source_validate(
                tenant=data["tenant"] if adding else self.instance.tenant,
                name=data.get("name", ""),
                preset=data.get("preset"),
                secret=data.get("secret") or None,
                config=data.get("config") or {},
                source=None if adding else self.instance,
            )
        except Invalid as exc:
            field = (exc.field or "").split(".", 1)[0]
            self.add_error(field if field in self.fields else None, exc.message)
        return data


@admin.register(Source)
class SourceAdmin(TenantScopedAdmin):
    form = SourceForm
    list_display = ("name", "tenant", "preset", "enabled", "source_url", "created_at")
    search_fields = ("name",)
    actions = ("disable_sources", "enable_sources")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("tenant", "name", "preset", "secret", "config", "enabled")
        return ("tenant", "preset", "source_url", "setup", "name", "config", "secret", "enabled")

    def get_readonly_fields(self, request, obj=None):
        return ("tenant", "preset", "source_url", "setup") if obj else ()

    @admin.display(description="URL")
    def source_url(self, source: Source) -> str:
        return selectors.source_url(source) if source.pk else ""

    @admin.display(description="Where the secret is")
    def setup(self, source: Source) -> str:
        preset = preset_for(source.preset)
        return format_html('{} <a href="{}">{}</a>', preset.setup_help, preset.docs_url, "docs")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        shown = []
        if not change:
            created = services.source_create(
                tenant=data["tenant"],
                name=data["name"],
                preset=data["preset"],
                secret=data.get("secret") or None,
                config=data.get("config") or {},
                enabled=data.get("enabled", True),
            )
            source, generated = created.source, created.secret
        else:
            stored = Source.objects.get(pk=obj.pk)
            # The form shows the whole config: a key taken out of it goes back to its default.
            config = {**dict.fromkeys(stored.config), **(data.get("config") or {})}
            source = services.source_update(
                source=stored,
                name=data["name"],
                config=config,
                enabled=data.get("enabled", True),
            )
            generated = None
            if data.get("secret"):
                services.source_rotate_secret(source=source, secret=data["secret"])
                messages.info(request, "New secret added; the previous ones overlap, then expire.")
        if generated:
            shown.append(("Signing secret", generated))
        obj.pk = source.pk
        request._formbridge_secrets = shown

    def save_related(self, request, form, formsets, change):
        pass  # the service wrote everything

    def response_add(self, request, obj, post_url_continue=None):
        shown = getattr(request, "_formbridge_secrets", None)
        if shown is None:
            return super().response_add(request, obj, post_url_continue)
        # Always this page on add: the operator's next step is giving the provider the URL.
        source = Source.objects.get(pk=obj.pk)  # `obj` is the form's; the service made this
        return secret_once(
            request,
            title=f"Source {source.tenant_id}/{source.name} created",
            secrets=[*shown, ("URL", selectors.source_url(source))],
            back_url=reverse("admin:sources_source_change", args=[obj.pk]),
            note="Give the provider this URL and secret.",
            admin_site=self.admin_site,
        )

    def delete_model(self, request, obj):
        services.source_delete(source=obj)

    def delete_queryset(self, request, queryset):
        for source in queryset:
            services.source_delete(source=source)

    @admin.action(description="Disable the selected sources (their URLs answer 404)")
    def disable_sources(self, request, queryset):
        for source in queryset:
            services.source_update(source=source, enabled=False)

    @admin.action(description="Enable the selected sources")
    def enable_sources(self, request, queryset):
        for source in queryset:
            services.source_update(source=source, enabled=True)
