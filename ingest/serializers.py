"""The API's shapes for submissions, their deliveries and attempts (output), and the query
inputs. No logic: views call selectors and services."""

from __future__ import annotations

from rest_framework import serializers

from core.serializers import ModelSerializer, UtcDateTimeField
from core.timeutil import isoformat_z
from delivery.models import Delivery, DeliveryAttempt, DeliveryStatus
from delivery.stored_objects import with_stored_objects

from .models import PUBLIC_FIELDS, Submission


class AttemptSerializer(ModelSerializer):
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


class DeliverySerializer(ModelSerializer):
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


STORED_OBJECT_FIELDS = ("payload_url", "payload_url_expires_at", "payload_size", "payload_sha256")


class _StoredObjectFields(serializers.Serializer):
    """Present when the payload was too large to keep inline (PAYLOAD_INLINE_MAX_BYTES): then
    `payload` is null and these say where it is. Stored files carry `url` in `attachments`."""

    payload_url = serializers.CharField(required=False, help_text="A signed, expiring link.")
    payload_url_expires_at = UtcDateTimeField(required=False)
    payload_size = serializers.IntegerField(required=False)
    payload_sha256 = serializers.CharField(required=False)


class SubmissionSerializer(_StoredObjectFields, ModelSerializer):
    deliveries = serializers.SerializerMethodField(
        help_text="How many of its deliveries are in each status."
    )

    class Meta:
        model = Submission
        fields = (*PUBLIC_FIELDS, *STORED_OBJECT_FIELDS, "deliveries")

    def get_deliveries(self, submission) -> dict[str, int]:
        return self.context.get("delivery_counts", {}).get(submission.pk, {})


class SubmissionDetailSerializer(_StoredObjectFields, ModelSerializer):
    deliveries = DeliverySerializer(many=True)

    class Meta:
        model = Submission
        fields = (*PUBLIC_FIELDS, *STORED_OBJECT_FIELDS, "deliveries")


class SubmissionPageSerializer(serializers.Serializer):
    items = SubmissionSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class EraseResultSerializer(serializers.Serializer):
    submission_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["erased"])


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
    spam = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: only what a browser form's honeypot or captcha held back as spam.",
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


# --- responses, built directly (ModelSerializer was a third of a detail request's time); the
# serializers above document the same shapes, and the schemathesis test checks they agree.


def _iso(moment) -> str | None:
    return isoformat_z(moment) if moment else None


def submission_data(submission, delivery_counts: dict | None = None) -> dict:
    """From a Submission or a row of its values."""
    get = submission.get if isinstance(submission, dict) else submission.__getattribute__
    data = {name: get(name) for name in PUBLIC_FIELDS}
    data["submitted_at"] = _iso(data["submitted_at"])
    data["received_at"] = _iso(data["received_at"])
    # Stored files and an offloaded payload: signed, expiring links, as destinations get them.
    data = with_stored_objects(
        data, tenant_id=get("tenant_id"), payload_object=get("payload_object"), files_as="link"
    )
    if delivery_counts is not None:
        data["deliveries"] = delivery_counts
    return data


def attempt_data(attempt) -> dict:
    data = {name: getattr(attempt, name) for name in AttemptSerializer.Meta.fields}
    data["started_at"] = _iso(attempt.started_at)
    return data


def delivery_data(delivery, destination, attempts: list) -> dict:
    return {
        "id": str(delivery.id),
        "destination": destination.name,
        "destination_kind": destination.kind,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": _iso(delivery.delivered_at),
        "created_at": _iso(delivery.created_at),
        "updated_at": _iso(delivery.updated_at),
        "attempt_log": [attempt_data(a) for a in attempts],
    }
