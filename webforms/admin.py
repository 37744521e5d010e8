"""Browser forms in the admin: add one (its action URL and an HTML snippet shown), change its
origins, redirect, honeypot, captcha, limits and schema. Every write goes through
webforms.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from core.errors import Invalid
from tenants.admin_scope import TenantFilter, TenantScopedAdmin

from . import selectors, serializers, services
from .models import Form

# The API's settings, with the write-only captcha secret beside its provider.
_AT_PROVIDER = serializers.SETTINGS.index("captcha_provider") + 1
SETTINGS = (
    *serializers.SETTINGS[:_AT_PROVIDER],
    "captcha_secret",
    *serializers.SETTINGS[_AT_PROVIDER:],
)


class FormForm(forms.ModelForm):
    allowed_origins = forms.JSONField(
        required=False,
        initial=list,
        help_text='Origins as JSON, e.g. ["https://www.example.com"]; [] lets any page post.',
    )
    allowed_file_types = forms.JSONField(
        required=False, initial=list, help_text='e.g. ["image/*", "application/pdf"]; []: any.'
    )
    redirect_url = forms.URLField(
        required=False, assume_scheme="https", help_text="The thank-you page a browser is sent to."
    )
    captcha_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The captcha provider's secret key (write-only; empty keeps the current one).",
    )
    schema = forms.JSONField(
        required=False, help_text="A JSON Schema (Draft 2020-12) posts must match; empty: none."
    )

    class Meta:
        model = Form
        fields = ("tenant", "form_id", *[s for s in SETTINGS if s != "captcha_secret"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["schema"] = selectors.form_schema(self.instance)

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        changes = {name: data[name] for name in SETTINGS if name in data}
        changes["allowed_origins"] = data.get("allowed_origins") or []
        changes["allowed_file_types"] = data.get("allowed_file_types") or []
        if not data.get("captcha_secret"):
            changes.pop("captcha_secret", None)
        changes["schema"] = data.get("schema")
        return changes

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        adding = self.instance._state.adding
        changes = self.changes()
        if not adding and changes.get("captcha_provider") == self.instance.captcha_provider:
            changes.pop("captcha_provider")  # unchanged: the stored secret stays valid
        try:
            services.form_validate(
                tenant=data["tenant"] if adding else self.instance.tenant,
                form_id=data.get("form_id") if adding else None,
                form=None if adding else Form.objects.get(pk=self.instance.pk),
                **changes,
            )
        except Invalid as exc:
            field = (exc.field or "").split(".", 1)[0]
            self.add_error(field if field in self.fields else None, exc.message)
        return data


@admin.register(Form)
class FormAdmin(TenantScopedAdmin):
    form = FormForm
    list_display = ("form_id", "tenant", "enabled", "origins", "action_url", "created_at")
    list_filter = (TenantFilter, "enabled")
    search_fields = ("form_id",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def get_fields(self, request, obj=None):
        fields = ["tenant", "form_id", *SETTINGS, "schema"]
        return fields if obj is None else ["action_url", "snippet", *fields]

    def get_readonly_fields(self, request, obj=None):
        return ("tenant", "form_id", "action_url", "snippet") if obj else ()

    @admin.display(description="Origins")
    def origins(self, form: Form) -> str:
        return ", ".join(form.allowed_origins) or "any"

    @admin.display(description="Action URL")
    def action_url(self, form: Form) -> str:
        return selectors.action_url(form) if form.pk else ""

    @admin.display(description="HTML")
    def snippet(self, form: Form) -> str:
        honeypot = (
            f'\n  <input type="text" name="{form.honeypot_field}" style="display:none" '
            'tabindex="-1" autocomplete="off">'
            if form.honeypot_field
            else ""
        )
        html = (
            f'<form action="{selectors.action_url(form)}" method="post" '
            'enctype="multipart/form-data">\n  <input name="email" type="email" required>\n'
            f'  <textarea name="message"></textarea>{honeypot}\n  <button>Send</button>\n</form>'
        )
        return format_html("<pre>{}</pre>", html)

    def save_model(self, request, obj, form, change):
        changes = form.changes()
        if not change:
            created = services.form_create(
                tenant=form.cleaned_data["tenant"], form_id=form.cleaned_data["form_id"], **changes
            )
            obj.pk = created.pk
            return
        stored = Form.objects.get(pk=obj.pk)
        if changes.get("captcha_provider") == stored.captcha_provider:
            changes.pop("captcha_provider")
        services.form_update(form=stored, **changes)

    def save_related(self, request, form, formsets, change):
        pass  # the service wrote everything

    def delete_model(self, request, obj):
        services.form_delete(form=obj)

    def delete_queryset(self, request, queryset):
        for form in queryset:
            services.form_delete(form=form)
