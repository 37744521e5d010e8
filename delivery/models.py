"""Destinations, and the two delivery tables: one Delivery per (submission, destination) with its
state, one DeliveryAttempt per try (Saleor's EventDelivery / EventDeliveryAttempt)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.ids import new_uuid7
from core.models import RotatingSecret, SoftDeletedQuerySet, TimeStampedModel
from tenants.models import Tenant


class AuthMode(models.TextChoices):
    NONE = "none", "None"
    API_KEY_HEADER = "api_key_header", "API key header"
    BEARER = "bearer", "Bearer token"
    BASIC = "basic", "Basic auth"
    OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials", "OAuth2 client credentials"


class FilesAs(models.TextChoices):
    # A signed, expiring download URL in the event (attachments[].url, payload_url).
    LINK = "link", "Signed link"
    # The bytes in the event (attachments[].content_base64, the whole payload).
    INLINE = "inline", "Inline"


class Destination(TimeStampedModel):
    id = models.UUIDField(primary_key=True, default=new_uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="destinations")
    name = models.CharField(max_length=64)
    # A connector's kind (delivery/connectors/registry.py); the services refuse any other.
    kind = models.CharField(max_length=16)
    # url, method, headers, mapping (JMESPath): validated by delivery.validation.
    config = models.JSONField(default=dict, blank=True)
    auth_mode = models.CharField(max_length=32, choices=AuthMode.choices, default=AuthMode.NONE)
    # Non-secret auth settings: header name, username, token_url, client_id, scope.
    auth_config = models.JSONField(default=dict, blank=True)
    auth_secret_encrypted = models.TextField(blank=True, help_text="Fernet; write-only.")
    signing_secret_encrypted = models.TextField(blank=True, help_text="Standard Webhooks whsec_.")
    # {"form_id": [...], "source": [...], "event_type": [...]}: every listed field must match.
    filter = models.JSONField(default=dict, blank=True)
    # Seconds to wait after each failed attempt; null means the default schedule.
    retry_schedule = models.JSONField(null=True, blank=True)
    max_attempts = models.PositiveIntegerField(null=True, blank=True)
    timeout_seconds = models.FloatField(default=15.0)
    connect_timeout_seconds = models.FloatField(default=5.0)
    max_concurrency = models.PositiveIntegerField(default=10, help_text="0 is unlimited.")
    rate_limit_per_second = models.PositiveIntegerField(default=0, help_text="0 is unlimited.")
    files_as = models.CharField(
        max_length=8,
        choices=FilesAs.choices,
        default=FilesAs.LINK,
        db_default=FilesAs.LINK,
        help_text="Stored files and large payloads: a signed, expiring link, or inline.",
    )
    # FIFO: a JMESPath over the event (form_id, event_type, payload.customer_id); deliveries
    # with the same key go one at a time in received order. Empty: unordered.
    ordering_key = models.CharField(
        max_length=200,
        blank=True,
        default="",
        db_default="",
        help_text="Ordered delivery: a JMESPath over the event (e.g. form_id); empty: unordered.",
    )
    enabled = models.BooleanField(default=True)
    # Health: the circuit breaker and auto-disable read and write these.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    circuit_open_until = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Deleted destinations stay (their deliveries and attempts are history) but route nothing,
    # and their name is free again.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeletedQuerySet.as_manager()

    class Meta:
        ordering = ["tenant_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                condition=Q(deleted_at__isnull=True),
                name="destination_name_per_tenant",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.name}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    DEAD = "dead"
    CANCELLED = "cancelled"


WAITING_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.IN_FLIGHT)
FINAL_STATUSES = (DeliveryStatus.SUCCEEDED, DeliveryStatus.DEAD, DeliveryStatus.CANCELLED)


class DestinationSigningSecret(RotatingSecret):
    """A destination's signing secret from before its last rotation: it signs beside the
    current one (Destination.signing_secret_encrypted) until it expires, so a receiver that
    still verifies with it accepts every webhook of the overlap."""

    destination = models.ForeignKey(
        Destination, on_delete=models.CASCADE, related_name="previous_signing_secrets"
    )

    class Meta:
        ordering = ["destination_id", "-created_at"]
        indexes = [models.Index(fields=["destination", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.destination_id} previous signing secret #{self.pk}"


class Delivery(TimeStampedModel):
    """One submission on its way to one destination. The database, not the broker, holds it."""

    id = models.UUIDField(primary_key=True, default=new_uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, db_index=False)
    submission = models.ForeignKey(
        # By name: delivery sits below ingest in the app order and never imports it.
        "ingest.Submission",
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
    )
    destination = models.ForeignKey(
        Destination, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts made, ever.")
    # A replay starts a new cycle: the retry budget counts attempts since this one.
    cycle_started_at_attempt = models.PositiveIntegerField(default=0)
    # Null while waiting for a pull consumer (inbox) or when final.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Its destination's ordering key, evaluated on this submission; null when unordered ("" is
    # a key: the events that have no value for the expression).
    ordering_key = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    # The W3C traceparent of the span that created it (core.tracing): every attempt, however
    # late, joins the submission's trace. "" when tracing is off.
    trace_context = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "destination"], name="delivery_once_per_destination"
            )
        ]
        indexes = [
            # The dispatcher's query touches only due rows, not the whole (mostly final) table.
            models.Index(
                # In the claim's order: it reads the oldest due rows and stops.
                fields=["next_attempt_at", "created_at"],
                name="delivery_due_in_order",
                condition=Q(status__in=WAITING_STATUSES, next_attempt_at__isnull=False),
            ),
            models.Index(
                fields=["lease_until"],
                name="delivery_leased",
                condition=Q(status=DeliveryStatus.IN_FLIGHT),
            ),
            models.Index(fields=["tenant", "status", "created_at"], name="delivery_by_status"),
            # Dead letters (the admin's list, the metrics gauge) without scanning every delivery.
            models.Index(
                fields=["updated_at"],
                name="delivery_dead",
                condition=Q(status=DeliveryStatus.DEAD),
            ),
            # An inbox's waiting events oldest first. Only pull deliveries wait undue, so a push
            # delivery never enters it (ingest pays nothing for it) and a leased event leaves
            # it: a lease reads the next waiting rows instead of stepping over every lease.
            models.Index(
                fields=["destination", "created_at", "id"],
                name="delivery_inbox_waiting",
                condition=Q(status=DeliveryStatus.PENDING, next_attempt_at__isnull=True),
            ),
            # A FIFO key's head: its oldest open delivery.
            models.Index(
                fields=["destination", "ordering_key", "created_at", "id"],
                name="delivery_fifo_open",
                condition=Q(status__in=OPEN_STATUSES, ordering_key__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.id} ({self.status})"


class DeadLetterManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(status=DeliveryStatus.DEAD)


class DeadLetter(Delivery):
    """Dead deliveries, as the operators' dead-letter view lists them."""

    objects = DeadLetterManager()

    class Meta:
        proxy = True
        ordering = ["-updated_at"]
        verbose_name = "dead letter"

    def __str__(self) -> str:
        return f"dead letter {self.id}"


class AttemptOutcome(models.TextChoices):
    SUCCESS = "success"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


class DeliveryAttempt(TimeStampedModel):
    """One try, as it happened. Never edited."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, db_index=False)
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    request_method = models.CharField(max_length=8, blank=True)
    request_url = models.TextField(blank=True)
    request_headers = models.JSONField(default=dict, blank=True, help_text="Credentials redacted.")
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True, help_text="The first 1 KiB.")
    error = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)

    class Meta:
        ordering = ["delivery_id", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}: {self.outcome}"


class MirrorStream(models.TextChoices):
    BACKFILL = "backfill"  # manage.py mirror backfill: submissions, by (received_at, id)
    ATTEMPTS = "attempts"  # the beat's attempt log copy: DeliveryAttempt ids


class MirrorCursor(TimeStampedModel):
    """How far a DynamoDB mirror destination has copied a stream: a backfill resumes here, the
    attempt log goes on from here."""

    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="+")
    stream = models.CharField(max_length=16, choices=MirrorStream.choices)
    position = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["destination_id", "stream"]
        constraints = [
            models.UniqueConstraint(fields=["destination", "stream"], name="mirror_cursor_once")
        ]

    def __str__(self) -> str:
        return f"{self.destination_id} {self.stream} at {self.position}"
