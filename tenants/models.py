"""Tenants and their credentials: signing secrets (encrypted) and API keys (hashed)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from core.models import RotatingSecret, TimeStampedModel

TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,62}$"


def _default_max_payload_bytes() -> int:
    return settings.TENANT_DEFAULT_MAX_PAYLOAD_BYTES


def _default_rate_limit() -> int:
    return settings.TENANT_DEFAULT_RATE_LIMIT


def _default_daily_quota() -> int:
    return settings.TENANT_DEFAULT_DAILY_QUOTA


def _default_retention_days() -> int:
    return settings.TENANT_DEFAULT_RETENTION_DAYS


class Tenant(TimeStampedModel):
    id = models.CharField(
        primary_key=True,
        max_length=63,
        validators=[
            RegexValidator(
                TENANT_ID_PATTERN,
                "Use 2-63 lowercase letters, digits, '_' or '-', starting with a letter or digit.",
            )
        ],
        help_text="The X-Tenant-Id clients send, e.g. t_acme.",
    )
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    rate_limit_per_second = models.PositiveIntegerField(
        default=_default_rate_limit, help_text="Requests per second; 0 is unlimited."
    )
    daily_quota = models.PositiveIntegerField(
        default=_default_daily_quota, help_text="Accepted submissions per UTC day; 0 is unlimited."
    )
    max_payload_bytes = models.PositiveIntegerField(default=_default_max_payload_bytes)
    retention_days = models.PositiveIntegerField(default=_default_retention_days)
    # Staff users who run this tenant in the admin; they see only their tenants' objects.
    operators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="operated_tenants",
        help_text="Staff users who see and manage this tenant's objects in the admin.",
    )
    # What FormBridge's own authority may reach on this tenant's behalf beyond its own space,
    # set by operators only (admin, manage.py tenants allow-secret/allow-target), never by a key.
    secret_grants = models.JSONField(
        default=list,
        blank=True,
        help_text="Secrets Manager names or ARNs (* a wildcard) this tenant's aws-sm:// references "
        "may name besides <SECRET_REFS_PREFIX>/<tenant id>/.",
    )
    target_grants = models.JSONField(
        default=list,
        blank=True,
        help_text="ARNs (* a wildcard) of the queues, event buses, buckets (or prefixes: "
        "arn:aws:s3:::bucket/prefix/*) and tables its destinations may use with FormBridge's "
        "own AWS credentials.",
    )
    mail_senders = models.JSONField(
        default=list,
        blank=True,
        help_text="Addresses an operator verified as this tenant's own: e-mail destinations on "
        "the operator's relay (EMAIL_URL) may send From them; any other From goes to Reply-To.",
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id


class SigningSecret(RotatingSecret):
    """An HMAC secret for POST /v1/ingest. Every unexpired secret verifies, so rotation overlaps."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="signing_secrets")
    secret_encrypted = models.TextField(help_text="Fernet token; the plaintext is shown once.")

    class Meta:
        ordering = ["tenant_id", "-created_at"]
        indexes = [models.Index(fields=["tenant", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.tenant_id} secret #{self.pk}"


class ApiKeyScope(models.TextChoices):
    INGEST = "ingest", "Post events"
    READ = "read", "Read submissions"
    INBOX = "inbox", "Pull and ack the inbox"
    ADMIN = "admin", "Manage destinations"


class ApiKey(TimeStampedModel):
    """A bearer key `fb_live_<random>`. Only its SHA-256 is stored; the prefix identifies it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=32, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tenant_id", "-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.tenant_id})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
