from __future__ import annotations

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
