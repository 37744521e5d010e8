"""The API's shapes for sources. Secrets are write-only: accepted, never returned (except a
generated one, once)."""

from __future__ import annotations

from rest_framework import serializers

from core.serializers import ModelSerializer

from .models import Source
from .presets.registry import preset_choices


class SourceSerializer(ModelSerializer):
    url = serializers.SerializerMethodField(
        help_text="Give this URL to the provider: its webhooks are posted here."
    )

    class Meta:
        model = Source
        fields = ("name", "preset", "url", "config", "enabled", "created_at", "updated_at")

    def get_url(self, source) -> str:
        return self.context["url_of"](source)


class CreatedSourceSerializer(SourceSerializer):
    secret = serializers.CharField(
        required=False, help_text="Only when generated (no secret was given): shown once."
    )

    class Meta(SourceSerializer.Meta):
        fields = (*SourceSerializer.Meta.fields, "secret")


class SourceWriteSerializer(serializers.Serializer):
    """Shapes only; the sources service checks meaning (name, preset options, secret)."""

    name = serializers.CharField(max_length=32)
    preset = serializers.ChoiceField(choices=preset_choices())
    secret = serializers.CharField(
        required=False,
        write_only=True,
        max_length=512,
        help_text="The provider's signing secret; write-only. Standard Webhooks may omit it "
        "to have one generated (returned once).",
    )
    config = serializers.DictField(
        required=False, help_text="Preset options (generic-hmac: header, algorithm, ...)."
    )
    enabled = serializers.BooleanField(required=False)


class SourceUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=32, required=False)
    config = serializers.DictField(required=False, help_text="Merged into the stored options.")
    enabled = serializers.BooleanField(required=False)


class RotateSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(
        required=False, write_only=True, max_length=512, help_text="The provider's new secret."
    )
    overlap_hours = serializers.FloatField(
        required=False, help_text="How long the current secrets keep verifying (default 24)."
    )
