"""The API's shapes for destinations. Secrets are write-only: accepted, never returned."""

from __future__ import annotations

from rest_framework import serializers

from core.serializers import ModelSerializer, UtcDateTimeField

from .connectors import registry
from .models import AuthMode, Destination, FilesAs


class DestinationHealthSerializer(serializers.Serializer):
    consecutive_failures = serializers.IntegerField()
    failing_since = UtcDateTimeField(allow_null=True)
    circuit_open_until = UtcDateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(allow_blank=True)
    disabled_at = UtcDateTimeField(allow_null=True)


class DestinationSerializer(ModelSerializer):
    config = serializers.SerializerMethodField(
        help_text="The kind's settings; keys that are credentials (a Slack webhook URL) are "
        "shown redacted."
    )
    has_auth_secret = serializers.SerializerMethodField()
    signed = serializers.SerializerMethodField(
        help_text="Deliveries carry Standard Webhooks signatures."
    )
    health = DestinationHealthSerializer(source="*", read_only=True)

    class Meta:
        model = Destination
        fields = (
            "id",
            "name",
            "kind",
            "config",
            "auth_mode",
            "auth_config",
            "has_auth_secret",
            "signed",
            "filter",
            "retry_schedule",
            "max_attempts",
            "timeout_seconds",
            "connect_timeout_seconds",
            "max_concurrency",
            "rate_limit_per_second",
            "files_as",
            "ordering_key",
            "enabled",
            "health",
            "created_at",
            "updated_at",
        )

    def get_config(self, destination) -> dict:
        return registry.shown_config(destination.kind, destination.config)

    def get_has_auth_secret(self, destination) -> bool:
        return bool(destination.auth_secret_encrypted)

    def get_signed(self, destination) -> bool:
        return bool(destination.signing_secret_encrypted)


class CreatedDestinationSerializer(DestinationSerializer):
    signing_secret = serializers.CharField(
        required=False, help_text="Only when generated (generate_signing_secret): shown once."
    )

    class Meta(DestinationSerializer.Meta):
        fields = (*DestinationSerializer.Meta.fields, "signing_secret")


class DestinationWriteSerializer(serializers.Serializer):
    """Shapes only; the delivery service validates meaning (SSRF guard, mapping, auth fields)."""

    name = serializers.CharField(max_length=64)
    kind = serializers.ChoiceField(choices=registry.kind_choices(), default=registry.DEFAULT_KIND)
    url = serializers.CharField(
        required=False, max_length=2048, help_text="Shorthand for config.url."
    )
    config = serializers.DictField(
        required=False,
        help_text=f"The kind's settings. {registry.config_help()}.",
    )
    auth_mode = serializers.ChoiceField(choices=AuthMode.choices, required=False)
    auth_config = serializers.DictField(
        required=False, help_text="header, username, token_url, client_id, scope, audience."
    )
    auth_secret = serializers.CharField(
        required=False, write_only=True, max_length=4096, help_text="Write-only."
    )
    signing_secret = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        max_length=256,
        help_text="whsec_...; write-only. An empty string stops signing.",
    )
    generate_signing_secret = serializers.BooleanField(
        required=False, help_text="Generate a whsec_ secret; the response shows it once."
    )
    filter = serializers.DictField(required=False)
    retry_schedule = serializers.ListField(
        child=serializers.FloatField(), required=False, allow_null=True, max_length=20
    )
    max_attempts = serializers.IntegerField(required=False, allow_null=True)
    timeout_seconds = serializers.FloatField(required=False)
    connect_timeout_seconds = serializers.FloatField(required=False)
    max_concurrency = serializers.IntegerField(required=False)
    rate_limit_per_second = serializers.IntegerField(required=False)
    files_as = serializers.ChoiceField(
        choices=FilesAs.choices,
        required=False,
        help_text="Stored files and large payloads in events: link (a signed, expiring URL) "
        "or inline (the bytes).",
    )
    ordering_key = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Ordered (FIFO) delivery: a JMESPath over the event, such as form_id, "
        "event_type or payload.customer_id; deliveries with the same key are sent one at a "
        "time in received order. Empty: unordered.",
    )
    enabled = serializers.BooleanField(required=False)


class DestinationTestResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["success", "retryable", "permanent"])
    status_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    response_headers = serializers.DictField(child=serializers.CharField())
    response_body = serializers.CharField(allow_blank=True, help_text="The first 1 KiB.")


class RotateSecretSerializer(serializers.Serializer):
    overlap_hours = serializers.FloatField(
        required=False,
        help_text="Hours the current secret keeps signing beside the new one (default "
        "DESTINATION_SECRET_ROTATION_OVERLAP_HOURS, 24; 0 switches at once).",
    )


class RotatedSecretSerializer(serializers.Serializer):
    name = serializers.CharField()
    signing_secret = serializers.CharField(help_text="The new whsec_ secret: shown once.")
    previous_secrets_expire_at = serializers.ListField(
        child=UtcDateTimeField(),
        help_text="Until when the previous secrets sign too (each webhook carries one "
        "signature per secret, newest first).",
    )
