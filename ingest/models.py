"""The canonical event (schema 1.0): one row per accepted submission or API event."""

from django.db import models

from core.ids import new_uuid7
from core.models import TimeStampedModel
from delivery.events import SCHEMA_VERSION
from tenants.models import Tenant


class SubmissionStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    # Caught by a browser form's honeypot or captcha: stored, sent nowhere until released.
    SPAM = "spam", "Spam"


# What the API shows of a submission (list, detail), in this order.
PUBLIC_FIELDS = (
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
    "status",
)


class Submission(TimeStampedModel):
    # Internal key, time-ordered. The public id is `submission_id`, unique per tenant, so a client
    # reusing another tenant's id can neither collide with nor learn about that tenant's rows.
    id = models.UUIDField(primary_key=True, default=new_uuid7, editable=False)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="submissions", db_index=False
    )
    submission_id = models.CharField(max_length=64)
    source = models.CharField(max_length=64)
    form_id = models.CharField(max_length=128, blank=True)
    event_type = models.CharField(max_length=128, blank=True)
    schema_version = models.CharField(max_length=8, default=SCHEMA_VERSION)
    submitted_at = models.DateTimeField()
    received_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    payload = models.JSONField()
    payload_bytes = models.PositiveIntegerField(help_text="Size of the request body as received.")
    payload_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    attachments = models.JSONField(default=list, blank=True)
    # A payload over PAYLOAD_INLINE_MAX_BYTES lives in the attachments storage: its key, size,
    # sha256 and content_type are here, and `payload` is {}.
    payload_object = models.JSONField(null=True, blank=True)
    # db_default: rows inserted by plain SQL (bulk loads, the benchmarks) need not name them.
    status = models.CharField(
        max_length=16,
        choices=SubmissionStatus.choices,
        default=SubmissionStatus.ACCEPTED,
        db_default=SubmissionStatus.ACCEPTED,
    )
    spam_reason = models.CharField(max_length=64, blank=True, default="", db_default="")
    requested_destinations = models.JSONField(
        null=True, blank=True, help_text="Destination names the sender restricted fan-out to."
    )
    # Fields a provider sent outside what its signature covers (GitHub's X-GitHub-Event), comma
    # separated: they route, and a replay under another value is a duplicate, but nobody vouched
    # for them. db_default: rows inserted by plain SQL need not name it.
    unverified_fields = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text="Fields taken from headers the provider's signature does not cover.",
    )
    # Erased on request (GDPR Art. 17): the row stays as a tombstone holding the id, so a resend
    # of it is a duplicate, not a new lead; payload and attachments are gone.
    erased_at = models.DateTimeField(null=True, blank=True)
    # db_default: rows inserted by plain SQL (bulk loads, the benchmarks) need not name it.
    erased_by = models.CharField(
        max_length=150, blank=True, default="", db_default="", help_text="Operator or key prefix."
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # The idempotency guarantee: a repeated submission_id is a duplicate, not a new row.
            models.UniqueConstraint(
                fields=["tenant", "submission_id"], name="submission_unique_per_tenant"
            ),
        ]
        indexes = [
            # Keyset pagination by arrival: (received_at, id) is unique and never reordered.
            models.Index(fields=["tenant", "received_at", "id"], name="submission_keyset"),
            # The same pages filtered by form or by source: without them a filter walks the
            # tenant's whole history when few (or no) rows match (1.8 s at 10 M rows, cold).
            models.Index(
                fields=["tenant", "form_id", "received_at", "id"], name="submission_by_form"
            ),
            models.Index(
                fields=["tenant", "source", "received_at", "id"], name="submission_by_source"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.submission_id}"


class SeenSignature(models.Model):
    """A signed ingest request that was stored, remembered for the timestamp window, so the same
    bytes replayed inside the window are refused (ingest.storage writes it in the statement that
    stores the submission; a request that fails is never remembered)."""

    # A tenant id (at most 63 characters), ":", and a SHA-256 in hex (64).
    key = models.CharField(primary_key=True, max_length=128, help_text="tenant:sha256(sig)")
    seen_at = models.DateTimeField()
    # What the bytes made: a 409 tells a client whose answer was lost which submission it has.
    submission_id = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        ordering = ["seen_at"]

    def __str__(self) -> str:
        return self.key


class SchemaSubject(models.TextChoices):
    FORM = "form", "Form"
    EVENT_TYPE = "event_type", "Event type"


class PayloadSchema(TimeStampedModel):
    """A JSON Schema (Draft 2020-12) that every payload of a form, or of an event type, must
    match before it is stored (ingest.schemas)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="payload_schemas")
    subject_kind = models.CharField(max_length=16, choices=SchemaSubject.choices)
    subject = models.CharField(max_length=128, help_text="The form_id or the event type.")
    schema = models.JSONField()

    class Meta:
        ordering = ["tenant_id", "subject_kind", "subject"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "subject_kind", "subject"], name="payload_schema_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.subject_kind}:{self.subject}"
