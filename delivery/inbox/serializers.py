"""The inbox API's shapes: the read query, the events page, the ack request and result."""

from __future__ import annotations

from rest_framework import serializers

from .services import MAX_LEASE_SECONDS, MAX_LIMIT


class InboxQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=100)
    cursor = serializers.CharField(required=False, max_length=512)
    lease = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_LEASE_SECONDS,
        help_text="Seconds each returned event is yours alone (then visible again unless acked).",
    )
    inbox = serializers.CharField(
        required=False, max_length=64, help_text="Which inbox destination (default: the first)."
    )


class InboxEventSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    event_type = serializers.CharField(allow_blank=True)
    form_id = serializers.CharField(allow_blank=True)
    source = serializers.CharField()
    payload = serializers.JSONField()
    timestamp = serializers.IntegerField(help_text="Received at, epoch milliseconds.")
    attempt = serializers.IntegerField(help_text="How many times it has been leased.")


class InboxPageSerializer(serializers.Serializer):
    events = InboxEventSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class AckRequestSerializer(serializers.Serializer):
    event_id = serializers.CharField(required=False, max_length=64)
    event_ids = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, min_length=1, max_length=500
    )
    inbox = serializers.CharField(required=False, max_length=64)

    def validate(self, data):
        if bool(data.get("event_id")) == bool(data.get("event_ids")):
            raise serializers.ValidationError("Give either event_id or event_ids.")
        return data


class AckResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["acknowledged"])
    acknowledged = serializers.IntegerField()
