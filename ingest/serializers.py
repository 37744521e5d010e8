"""The API's shapes for submissions, their deliveries and attempts (output), and the query and
inbox inputs. No logic: views call selectors and services."""

from __future__ import annotations

from rest_framework import serializers

from delivery.inbox import MAX_LEASE_SECONDS, MAX_LIMIT
from delivery.models import Delivery, DeliveryAttempt, DeliveryStatus

from .models import Submission

SUBMISSION_FIELDS = (
    "submission_id",
    "source",
    "form_id",
    "event_type",
    "schema_version",
    "submitted_at",
    "received_at",
    "ip",
    "payload",
    "attachments",
    "payload_bytes",
    "payload_sha256",
)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = (
            "number",
            "started_at",
            "duration_ms",
            "outcome",
            "request_method",
            "request_url",
            "request_headers",
            "response_status",
            "response_headers",
            "response_body",
            "error",
        )


class DeliverySerializer(serializers.ModelSerializer):
    destination = serializers.CharField(source="destination.name")
    destination_kind = serializers.CharField(source="destination.kind")
    attempt_log = AttemptSerializer(many=True)

    class Meta:
        model = Delivery
        fields = (
            "id",
            "destination",
            "destination_kind",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "updated_at",
            "attempt_log",
        )


class SubmissionSerializer(serializers.ModelSerializer):
    deliveries = serializers.SerializerMethodField(
        help_text="How many of its deliveries are in each status."
    )

    class Meta:
        model = Submission
        fields = (*SUBMISSION_FIELDS, "deliveries")

    def get_deliveries(self, submission) -> dict[str, int]:
        return self.context.get("delivery_counts", {}).get(submission.pk, {})


class SubmissionDetailSerializer(serializers.ModelSerializer):
    deliveries = DeliverySerializer(many=True)

    class Meta:
        model = Submission
        fields = (*SUBMISSION_FIELDS, "deliveries")


class SubmissionPageSerializer(serializers.Serializer):
    items = SubmissionSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class SubmissionQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Received at or after.")
    until = serializers.DateTimeField(required=False, help_text="Received before.")
    form_id = serializers.CharField(required=False, max_length=128)
    source = serializers.CharField(required=False, max_length=64)
    status = serializers.ChoiceField(
        choices=DeliveryStatus.choices,
        required=False,
        help_text="Only submissions with a delivery in this status (dead: dead letters).",
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)
    cursor = serializers.CharField(required=False, max_length=512)


class ReplayRequestSerializer(serializers.Serializer):
    destinations = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=50,
        help_text="Destination names; omit for all of its destinations.",
    )


class ReplayResultSerializer(serializers.Serializer):
    requeued = serializers.IntegerField()
    created = serializers.IntegerField(
        help_text="Deliveries created to destinations that did not have one."
    )


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
