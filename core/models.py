from __future__ import annotations

from datetime import datetime

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SoftDeletedQuerySet(models.QuerySet):
    """For models deleted softly (a `deleted_at` time): what is still there."""

    def live(self) -> SoftDeletedQuerySet:
        """Not deleted (enabled or not)."""
        return self.filter(deleted_at__isnull=True)


class RotatingSecretQuerySet(models.QuerySet):
    def unexpired(self, now: datetime) -> RotatingSecretQuerySet:
        """The secrets still in use at `now` (no expiry, or a later one)."""
        return self.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class RotatingSecret(TimeStampedModel):
    """A secret that rotates with an overlap: the new one is added, the ones before it keep
    working until their expiry (core.rotation). Tenants' and sources' inbound signing secrets,
    destinations' outbound ones."""

    secret_encrypted = models.TextField()
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = RotatingSecretQuerySet.as_manager()

    class Meta:
        abstract = True
