"""Pre-aggregated daily figures per tenant, day and form: the dashboard reads these, never scans
submissions. Writers add to them in the transactions that make the change (reporting.services).

Each (tenant, day, form) is split over a few shard rows, chosen per write, so concurrent ingest
requests of one tenant do not queue on a single row lock until their commits.
"""

from __future__ import annotations

from django.db import models

from tenants.models import Tenant

SHARDS = 8
# Upper bounds (milliseconds) of the ingest -> delivered latency buckets; the last is open.
LATENCY_BUCKETS_MS = (
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    30_000,
    60_000,
    300_000,
    1_800_000,
    7_200_000,
    36_000_000,
)
OPEN_BUCKET_MS = 0  # stored for latencies above the last bound


class DailyMetric(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, db_index=False)
    day = models.DateField()
    form_id = models.CharField(max_length=128, blank=True)
    shard = models.PositiveSmallIntegerField(default=0)
    submissions = models.BigIntegerField(default=0)
    deliveries_succeeded = models.BigIntegerField(default=0)
    # Failed attempts that will be tried again.
    deliveries_retried = models.BigIntegerField(default=0)
    deliveries_dead = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "tenant_id", "form_id", "shard"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "form_id", "shard"], name="daily_metric_once"
            )
        ]
        indexes = [models.Index(fields=["day", "tenant"], name="daily_metric_by_day")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day} {self.form_id or '-'}"


class DailyLatency(models.Model):
    """How many push deliveries succeeded within each latency bucket, counted from ingest."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, db_index=False)
    day = models.DateField()
    form_id = models.CharField(max_length=128, blank=True)
    shard = models.PositiveSmallIntegerField(default=0)
    le_ms = models.BigIntegerField(help_text="Bucket upper bound in ms; 0 is above the last.")
    count = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "tenant_id", "le_ms"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "form_id", "shard", "le_ms"], name="daily_latency_once"
            )
        ]
        indexes = [models.Index(fields=["day", "tenant"], name="daily_latency_by_day")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day} ≤{self.le_ms} ms: {self.count}"
