"""Sources: a provider's webhooks coming in at their own URL, verified by the provider's rules."""

from __future__ import annotations

from django.db import models

from core.models import RotatingSecret, SoftDeletedQuerySet, TimeStampedModel
from tenants.models import Tenant

SOURCE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class Source(TimeStampedModel):
    """One endpoint a provider posts to: `POST /v1/sources/<token>`.

    The token in the URL only routes the request; the provider's signature (checked with this
    source's secrets) is what authenticates it.
    """

    objects = SoftDeletedQuerySet.as_manager()

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=32, help_text="e.g. stripe-live; unique in the tenant.")
    preset = models.CharField(max_length=32, help_text="Which provider's signing rules apply.")
    token = models.CharField(max_length=64, unique=True, editable=False)
    config = models.JSONField(default=dict, blank=True, help_text="The preset's options.")
    enabled = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tenant_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                condition=models.Q(deleted_at__isnull=True),
                name="source_name_unique_per_tenant",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.name}"


class SourceSecret(RotatingSecret):
    """A provider's signing secret, encrypted at rest. Every unexpired one verifies, so a
    rotation overlaps: the old secret keeps working until its expiry."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="secrets")

    class Meta:
        ordering = ["source_id", "-created_at"]
        indexes = [models.Index(fields=["source", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.source} secret #{self.pk}"
