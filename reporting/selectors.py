"""Reads for the dashboard: only the pre-aggregated daily tables, scoped to the caller's tenants."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Sum

from .models import LATENCY_BUCKETS_MS, DailyLatency, DailyMetric


@dataclass
class DayFigures:
    day: date
    submissions: int = 0
    succeeded: int = 0
    retried: int = 0
    dead: int = 0
    latency_buckets: dict[int, int] = field(default_factory=dict)

    @property
    def success_rate(self) -> float | None:
        """Succeeded over finished (succeeded + dead); None when nothing finished."""
        finished = self.succeeded + self.dead
        return self.succeeded / finished if finished else None

    @property
    def latency_p95_ms(self) -> float | None:
        return percentile_from_buckets(self.latency_buckets, 0.95)


def percentile_from_buckets(buckets: dict[int, int], q: float) -> float | None:
    """The q-quantile, interpolated inside its bucket (as Prometheus' histogram_quantile)."""
    total = sum(buckets.values())
    if not total:
        return None
    rank, seen, lower = q * total, 0, 0.0
    for upper in LATENCY_BUCKETS_MS:
        count = buckets.get(upper, 0)
        if seen + count >= rank and count:
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
        lower = float(upper)
    return float(LATENCY_BUCKETS_MS[-1])  # in the open bucket: at least the last bound


def _scoped(queryset, tenant_ids: set[str] | None):
    return queryset if tenant_ids is None else queryset.filter(tenant_id__in=tenant_ids)


def daily_figures(
    *, tenant_ids: set[str] | None, days: int, today: date, tenant_id: str | None = None
) -> dict[str, list[DayFigures]]:
    """Per tenant, one DayFigures per day of the last `days` (oldest first, gaps filled)."""
    first = today - timedelta(days=days - 1)
    metrics = _scoped(DailyMetric.objects.filter(day__gte=first, day__lte=today), tenant_ids)
    latencies = _scoped(DailyLatency.objects.filter(day__gte=first, day__lte=today), tenant_ids)
    if tenant_id:
        metrics, latencies = (
            metrics.filter(tenant_id=tenant_id),
            latencies.filter(tenant_id=tenant_id),
        )
    by_tenant: dict[str, dict[date, DayFigures]] = defaultdict(dict)

    def figures(tenant: str, day: date) -> DayFigures:
        return by_tenant[tenant].setdefault(day, DayFigures(day))

    for row in (
        metrics.values("tenant_id", "day")
        .annotate(
            submissions=Sum("submissions"),
            succeeded=Sum("deliveries_succeeded"),
            retried=Sum("deliveries_retried"),
            dead=Sum("deliveries_dead"),
        )
        .order_by()
    ):
        day = figures(row["tenant_id"], row["day"])
        day.submissions, day.succeeded = row["submissions"], row["succeeded"]
        day.retried, day.dead = row["retried"], row["dead"]
    for row in latencies.values("tenant_id", "day", "le_ms").annotate(n=Sum("count")).order_by():
        figures(row["tenant_id"], row["day"]).latency_buckets[row["le_ms"]] = row["n"]
    return {
        tenant: [
            days_of.get(first + timedelta(n)) or DayFigures(first + timedelta(n))
            for n in range(days)
        ]
        for tenant, days_of in sorted(by_tenant.items())
    }
