"""The base of the API's DRF shapes: every time they give is UTC, milliseconds and `Z`.

Responses built by hand (the hot-path views, the submissions API) call core.timeutil.isoformat_z;
DRF serializers get the same through these, so one format holds in every response.
"""

from __future__ import annotations

from django.db import models
from rest_framework import serializers

from .timeutil import isoformat_z

TIME_FORMAT_HELP = "UTC ISO 8601 with milliseconds and Z: 2026-01-31T09:30:00.123Z."


class UtcDateTimeField(serializers.DateTimeField):
    """Reads any ISO 8601 time with a zone; writes UTC with milliseconds and `Z`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("help_text", TIME_FORMAT_HELP)
        super().__init__(*args, **kwargs)

    def to_representation(self, value):
        return isoformat_z(value) if value else None


class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UtcDateTimeField,
    }
