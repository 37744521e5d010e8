"""Add to the daily figures, inside the caller's transaction (the change and its count commit
together). One multi-row upsert per call, rows in key order so concurrent writers lock them in
the same order and cannot deadlock."""

from __future__ import annotations

import bisect
import functools
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection

from core.db import CteFragment

from .models import LATENCY_BUCKETS_MS, OPEN_BUCKET_MS, SHARDS, DailyLatency, DailyMetric

COUNTERS = ("submissions", "deliveries_succeeded", "deliveries_retried", "deliveries_dead")


@dataclass(frozen=True)
class Bump:
    tenant_id: str
    day: date
    form_id: str
    counter: str  # one of COUNTERS
    amount: int = 1


def latency_bucket(milliseconds: float) -> int:
    """The upper bound of the bucket holding this latency (OPEN_BUCKET_MS above the last)."""
    index = bisect.bisect_left(LATENCY_BUCKETS_MS, milliseconds)
    return LATENCY_BUCKETS_MS[index] if index < len(LATENCY_BUCKETS_MS) else OPEN_BUCKET_MS


def _upsert(table: str, keys: list[str], counters: list[str], rows: list[tuple]) -> None:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in (*keys, *counters))
    placeholders = "(" + ", ".join(["%s"] * (len(keys) + len(counters))) + ")"
    updates = ", ".join(
        f"{quote(c)} = {quote(table)}.{quote(c)} + EXCLUDED.{quote(c)}" for c in counters
    )
    sql = (
        f"INSERT INTO {quote(table)} ({columns}) VALUES "  # noqa: S608 (names, not values)
        + ", ".join([placeholders] * len(rows))
        + f" ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


def daily_metrics_add(bumps: Iterable[Bump]) -> None:
    """Add each bump to its (tenant, day, form) figures."""
    totals: dict[tuple[str, date, str], Counter] = {}
    for bump in bumps:
        totals.setdefault((bump.tenant_id, bump.day, bump.form_id), Counter())[bump.counter] += (
            bump.amount
        )
    if not totals:
        return
    shard = random.randrange(SHARDS)  # noqa: S311 (spreads lock contention, not security)
    rows = [
        (tenant_id, day, form_id, shard, *(counts[c] for c in COUNTERS))
        for (tenant_id, day, form_id), counts in sorted(totals.items())
    ]
    _upsert(DailyMetric._meta.db_table, ["tenant_id", "day", "form_id", "shard"], COUNTERS, rows)


@functools.cache
def _submission_count_sql(source: str, vendor: str) -> str:
    quote = connection.ops.quote_name
    table = quote(DailyMetric._meta.db_table)
    keys = ("tenant_id", "day", "form_id", "shard")
    columns = ", ".join(quote(c) for c in (*keys, *COUNTERS))
    counts = ", ".join("1" if counter == "submissions" else "0" for counter in COUNTERS)
    return (
        f"counted AS (INSERT INTO {table} ({columns}) "  # noqa: S608 (names, not values)
        f"SELECT %s, %s::date, %s, %s, {counts} FROM {source} "
        f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) "
        f"DO UPDATE SET {quote('submissions')} = {table}.{quote('submissions')} + 1)"
    )


def submission_count_fragment(source: str, tenant_id: str, day: date, form_id: str) -> CteFragment:
    """Count one submission on its day if CTE `source` returns a row (a duplicate counts none):
    the same figure as daily_metrics_add, as part of ingest's single statement."""
    shard = random.randrange(SHARDS)  # noqa: S311 (spreads lock contention, not security)
    return CteFragment(
        _submission_count_sql(source, connection.vendor), [tenant_id, day, form_id, shard]
    )


def daily_latencies_add(observations: Iterable[tuple[str, datetime, str, float]]) -> None:
    """Count delivered latencies: (tenant_id, delivered at, form_id, milliseconds since ingest)."""
    counts = Counter(
        (tenant_id, at.date(), form_id, latency_bucket(ms))
        for tenant_id, at, form_id, ms in observations
    )
    if not counts:
        return
    shard = random.randrange(SHARDS)  # noqa: S311
    rows = [(*key[:3], shard, key[3], n) for key, n in sorted(counts.items())]
    _upsert(
        DailyLatency._meta.db_table,
        ["tenant_id", "day", "form_id", "shard", "le_ms"],
        ["count"],
        rows,
    )
