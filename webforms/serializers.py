"""The API's shapes for browser forms. The captcha secret is write-only."""

from __future__ import annotations

from rest_framework import serializers

from core.serializers import ModelSerializer

from .models import CaptchaProvider, Form

SETTINGS = (
    "allowed_origins",
    "redirect_url",
    "honeypot_field",
    "captcha_provider",
    "rate_limit_per_minute",
    "ip_rate_limit_per_minute",
    "max_files",
    "max_file_bytes",
    "allowed_file_types",
    "enabled",
)


class FormSerializer(ModelSerializer):
    action_url = serializers.SerializerMethodField(
        help_text="Put this in the page's <form action=...> (method post)."
    )
    schema = serializers.SerializerMethodField(
        help_text="The JSON Schema (Draft 2020-12) its submissions must match, or null."
    )

    class Meta:
        model = Form
        fields = (
            "form_id",
            "form_key",
            "action_url",
            *SETTINGS,
            "schema",
            "created_at",
            "updated_at",
        )

    def get_action_url(self, form) -> str:
        return self.context["action_url_of"](form)

    def get_schema(self, form) -> dict | None:
        return self.context["schema_of"](form)


class _FormSettingsSerializer(serializers.Serializer):
    """Shapes only; the forms service checks meaning (origins, URLs, limits, the schema)."""

    allowed_origins = serializers.ListField(child=serializers.CharField(), required=False)
    redirect_url = serializers.CharField(required=False, allow_blank=True)
    honeypot_field = serializers.CharField(required=False, allow_blank=True)
    captcha_provider = serializers.ChoiceField(
        choices=CaptchaProvider.choices, required=False, allow_blank=True
    )
    captcha_secret = serializers.CharField(
        required=False, write_only=True, help_text="The provider's secret key (write-only)."
    )
    rate_limit_per_minute = serializers.IntegerField(required=False)
    ip_rate_limit_per_minute = serializers.IntegerField(required=False)
    max_files = serializers.IntegerField(required=False)
    max_file_bytes = serializers.IntegerField(required=False)
    allowed_file_types = serializers.ListField(child=serializers.CharField(), required=False)
    enabled = serializers.BooleanField(required=False)
    schema = serializers.JSONField(
        required=False, allow_null=True, help_text="A JSON Schema (Draft 2020-12); null: none."
    )


class FormWriteSerializer(_FormSettingsSerializer):
    form_id = serializers.CharField(max_length=128)


class FormUpdateSerializer(_FormSettingsSerializer):
    pass
