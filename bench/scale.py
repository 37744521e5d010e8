"""make bench-scale: FormBridge with 10 M submissions stored, each path beside its floor.

The database (bench/scale_fill.py: 1,000 tenants, one holding 30 %, a year of submissions,
deliveries, attempts and daily counters) is filled once and kept; `--reuse` starts from it.
Then, in one run, on the same PostgreSQL and Redis, alternating rounds so noise hits all:

- ingest: the minimal WSGI floor; signed ingest for the heavy tenant; the same for a tenant
  with three destinations (three delivery rows per submission); a Stripe webhook at a source;
  a urlencoded browser form (bench-ingest's targets, at 10 M rows);
- reads: a keyset page from a minimal WSGI app with one prepared statement (the floor), then
  the read API: first and deep pages, filters (form, source, status, time range), one
  submission with its deliveries and attempts, and the pull inbox with leases;
- delivery: a pooled aiohttp client posting to the sink (the floor), then 2 Celery worker
  processes draining queued deliveries into the same sink, with 10 M finished ones beside them.

Every line prints its ratio to its floor and the issue's target.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import delivery as delivery_bench  # noqa: E402 (after the path is set)
from bench import ingest as ingest_bench  # noqa: E402
from bench.ingest import (  # noqa: E402
    SECRET,
    TENANT,
    ensure_wrk,
    free_port,
    log,
    manage,
    measure,
    start_server,
    stop_server,
    write_requests,
)
from bench.scale_fill import DRAIN_TENANT, FANOUT_TENANT, fill, filled  # noqa: E402
from bench.wrk import request_line, run_wrk  # noqa: E402
from core.cursors import encode_cursor  # noqa: E402

INGEST_TARGETS = ("floor", "formbridge", "fanout", "source", "form")


def scale_database_url(url: str) -> str:
    parsed = urlparse(url)
    return parsed._replace(path=parsed.path.rstrip("/") + "_scale").geturl()


# --- ingest ---


def ingest(args, env: dict, wrk: str, meta: dict) -> dict:
    paths = {**meta["paths"], "fanout": "/v1/ingest"}
    ingest_bench.WRITERS["fanout"] = functools.partial(write_requests, tenant=FANOUT_TENANT)
    runs: dict[str, list[dict]] = {target: [] for target in INGEST_TARGETS}
    shm = Path("/dev/shm")  # noqa: S108 (a private folder is made in it)
    with tempfile.TemporaryDirectory(dir=str(shm) if shm.is_dir() else None) as tmp:
        for round_number in range(1, args.rounds + 1):
            order = INGEST_TARGETS if round_number % 2 else tuple(reversed(INGEST_TARGETS))
            for target in order:
                stats = measure(target, args, env, wrk, Path(tmp), paths)
                runs[target].append(stats)
                log(
                    f"ingest round {round_number} {target:<10} {stats['rps']:7.0f} req/s  "
                    f"p99 {stats['p99_us'] / 1000:6.2f} ms"
                )
    # The fan-out tenant's deliveries go to nowhere (no worker runs here): drop them, so the
    # delivery run does not find them ahead of its own in the due queue.
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        _forget_rows_of(conn, FANOUT_TENANT)
    return {target: ingest_bench.summarize(r) for target, r in runs.items()}


def ingest_lines(summary: dict) -> list[str]:
    floor, signed = summary["floor"], summary["formbridge"]
    lines = [
        f"  {'floor (minimal WSGI)':<34}{floor['rps']:8.0f} req/s  p99 {floor['p99_ms']:6.1f} ms"
    ]
    for target, label, base, against, target_ratio in (
        ("formbridge", "signed ingest", floor, "floor", 0.70),
        ("fanout", "signed ingest, 3 destinations", floor, "floor", 0.60),
        ("source", "Stripe webhook at a source", signed, "signed ingest", 0.80),
        ("form", "urlencoded browser form", signed, "signed ingest", 0.80),
    ):
        row = summary[target]
        ratio = row["rps"] / base["rps"]
        lines.append(
            f"  {label:<34}{row['rps']:8.0f} req/s  p99 {row['p99_ms']:6.1f} ms  "
            f"{ratio:4.0%} of {against} (target >= {target_ratio:.0%}): "
            f"{'PASS' if ratio >= target_ratio else 'MISS'}  errors {row['errors']}"
        )
    return lines


# --- reads ---


def deep_cursors(database_url: str) -> dict[str, str]:
    """Per tenant, a cursor half way down its history (its first row six months ago)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """
            SELECT DISTINCT ON (tenant_id) tenant_id, received_at, id FROM ingest_submission
            WHERE received_at BETWEEN now() - interval '183 days' AND now() - interval '182 days'
            ORDER BY tenant_id, received_at
            """
        ).fetchall()
    return {tenant: encode_cursor(moment, row_id) for tenant, moment, row_id in rows}


def _get(path: str, headers: dict[str, str]) -> str:
    return request_line("GET", path, headers)


def read_requests(meta: dict, deep: dict[str, str], count: int) -> dict[str, list[str]]:
    """Per measured read, its request lines: random tenants, t_bench as often as its share."""
    keys, others = meta["keys"], meta["tenants"] - 1
    rng = random.Random(7)
    tenants = sorted(t for t in deep if t.startswith("t_s"))

    def tenant() -> str:
        return TENANT if rng.random() < 0.3 else rng.choice(tenants)

    def auth(t: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[t]}"}

    week = (datetime.now(UTC) - timedelta(days=120)).date()
    since, until = f"{week}T00:00:00Z", f"{week + timedelta(days=7)}T00:00:00Z"
    page = "/v1/submissions?limit=50"
    queries = {
        "list, first page of 50": lambda t: page,
        "list, page of 50 at a deep cursor": lambda t: f"{page}&cursor={deep[t]}",
        "filter: form": lambda t: f"{page}&form_id=quote",
        "filter: source": lambda t: f"{page}&source=stripe",
        "filter: status=dead": lambda t: f"{page}&status=dead",
        "filter: one week": lambda t: f"{page}&since={since}&until={until}",
    }
    sets: dict[str, list[str]] = {name: [] for name in queries}
    sets["detail with deliveries and attempts"] = []
    for _ in range(count):
        for name, query in queries.items():
            t = tenant()
            sets[name].append(_get(query(t), auth(t)))
        # The row the fill numbered g, and its owner (scale_fill._TENANT_OF).
        g = rng.randint(1, meta["submissions"])
        owner = TENANT if g % 10 < 3 else f"t_s{1 + g % others:03d}"
        detail = _get(f"/v1/submissions/s-{g}", auth(owner))
        sets["detail with deliveries and attempts"].append(detail)
    # The inbox: each request leases up to 10 events for 30 s; the run keeps leasing new ones.
    sets["inbox: lease 10"] = [_get("/v1/inbox?limit=10&lease=30", auth(DRAIN_TENANT))] * count
    return sets


def floor_requests(deep: dict[str, str], count: int, floor_inbox: str) -> dict[str, list[str]]:
    rng = random.Random(7)
    tenants = sorted(t for t in deep if t.startswith("t_s"))
    first, deeper = [], []
    for _ in range(count):
        t = TENANT if rng.random() < 0.3 else rng.choice(tenants)
        first.append(_get("/?limit=50", {"X-Tenant-Id": t}))
        deeper.append(_get(f"/?limit=50&cursor={deep[t]}", {"X-Tenant-Id": t}))
    lease = [_get("/lease?limit=10", {"X-Destination-Id": floor_inbox})] * count
    return {"floor: first page": first, "floor: deep page": deeper, "floor: lease 10": lease}


# The lease floor takes its events from an inbox of its own, as many as t_drain's inbox holds.
FLOOR_INBOX = "floor-inbox"


def queue_inbox(env: dict, database_url: str, count: int) -> str:
    """`count` submissions waiting in t_drain's inbox and in the lease floor's (pull deliveries:
    no due time); returns the floor's inbox id."""
    if _floor_inbox_id(database_url) is None:
        manage(env, "destinations", "add", DRAIN_TENANT, FLOOR_INBOX, "--kind", "inbox",
               "--config", "{}")  # fmt: skip
    _queue(database_url, count, destinations=("inbox", FLOOR_INBOX), due=False)
    return str(_floor_inbox_id(database_url))


def _floor_inbox_id(database_url: str):
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT id FROM delivery_destination WHERE tenant_id = %s AND name = %s",
            (DRAIN_TENANT, FLOOR_INBOX),
        ).fetchone()
    return found[0] if found else None


def reads(args, env: dict, wrk: str, meta: dict) -> dict:
    """Both servers up at once; each read alternates with its floor (first or deep page), round
    after round, so the machine's drift hits both sides of every ratio alike."""
    floor_inbox = queue_inbox(env, args.database_url, args.inbox_events)
    deep = deep_cursors(args.database_url)
    sets = read_requests(meta, deep, 5000)
    floors = floor_requests(deep, 5000, floor_inbox)
    floor_port, port = free_port(), free_port()
    floor = start_server("floor-read", env, floor_port, args.workers,
                         app="bench.floor_query_app:application")  # fmt: skip
    server = start_server("formbridge", env, port, args.workers)
    runs: dict[str, list[dict]] = {}
    try:
        _wait_serving(floor_port)
        _wait_serving(port)
        with tempfile.TemporaryDirectory() as workdir:
            path = Path(workdir) / "requests.tsv"

            def measure_read(name: str, lines: list[str], target_port: int) -> None:
                path.write_text("".join(lines))
                url = f"http://127.0.0.1:{target_port}/"
                run_wrk(wrk, url, 1, args.read_connections, path)  # warm caches, connections
                stats = run_wrk(wrk, url, args.duration, args.read_connections, path)
                runs.setdefault(name, []).append(stats)
                p99 = stats["p99_us"] / 1000
                log(f"read {name:<38} {stats['rps']:7.0f} req/s  p99 {p99:6.2f} ms")

            for _ in range(args.rounds):
                for name, lines in sets.items():
                    base = "floor: deep page" if "deep" in name else "floor: first page"
                    measure_read(base, floors[base], floor_port)
                    if name.startswith("inbox"):
                        measure_read("floor: lease 10", floors["floor: lease 10"], floor_port)
                    measure_read(name, lines, port)
    finally:
        stop_server(server)
        stop_server(floor)
    return {name: ingest_bench.summarize(r) for name, r in runs.items()}


def _wait_serving(port: int) -> None:
    """gunicorn binds before its workers have imported the app: wait for a real answer."""
    import httpx

    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing answers on {port}")


def read_lines(results: dict) -> list[str]:
    first, deep = results["floor: first page"], results["floor: deep page"]
    lines = [
        f"  {'floor: first page (one prepared statement)':<44}{first['rps']:7.0f} req/s  "
        f"p99 {first['p99_ms']:5.1f} ms",
        f"  {'floor: deep page':<44}{deep['rps']:7.0f} req/s  p99 {deep['p99_ms']:5.1f} ms",
    ]
    lease = results.get("floor: lease 10")
    if lease:
        lines.append(
            f"  {'floor: lease 10 (one UPDATE ... RETURNING)':<44}{lease['rps']:7.0f} req/s  "
            f"p99 {lease['p99_ms']:5.1f} ms"
        )
    for name, stats in results.items():
        if name.startswith("floor"):
            continue
        base = deep if "deep" in name else first
        ratio = stats["rps"] / base["rps"]
        p99, errors = stats["p99_ms"], stats["errors"]
        ok = ratio >= 0.5 and p99 <= 20 and not errors
        lines.append(
            f"  {name:<44}{stats['rps']:7.0f} req/s  p99 {p99:5.1f} ms  {ratio:4.0%} of the "
            f"floor (targets >= 50 %, p99 <= 20 ms): {'PASS' if ok else 'MISS'}"
            + (f"  errors {errors}" if errors else "")
            + (f"; {stats['rps'] / lease['rps']:.0%} of the lease floor"
               if lease and name.startswith("inbox") else "")
        )  # fmt: skip
    return lines


# --- delivery ---


# The tables each part churns (inserts, updates, the deletes of _forget_rows_of).
CHURNED = (
    "ingest_submission",
    "ingest_seensignature",
    "delivery_delivery",
    "delivery_deliveryattempt",
    "reporting_dailymetric",
)


def vacuum_churned(database_url: str) -> None:
    """What autovacuum does in production, before each part, so none measures the dead rows the
    one before left: a PostgreSQL with autovacuum off (as this machine's test server runs) or
    behind would otherwise make every claim and lease read them (the delivery table's head)."""
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in CHURNED:
            conn.execute(f"VACUUM (ANALYZE) {table}")
        # Its writes flushed now, not by the checkpointer in the middle of the first run.
        conn.execute("CHECKPOINT")
    log(f"vacuumed the churned tables in {time.monotonic() - started:.0f} s")


def _forget_rows_of(conn, tenant: str) -> None:
    """A run's own rows go after it: the tables stay at the filled size."""
    for table in ("delivery_deliveryattempt", "delivery_delivery", "ingest_submission"):
        conn.execute(f"DELETE FROM {table} WHERE tenant_id = %s", (tenant,))  # noqa: S608


def _forget_drain_rows(conn) -> None:
    _forget_rows_of(conn, DRAIN_TENANT)


def _insert_drain_submissions(conn, count: int) -> None:
    conn.execute(
        """
        INSERT INTO ingest_submission (id, tenant_id, submission_id, source, form_id,
            event_type, schema_version, submitted_at, received_at, ip, payload, payload_bytes,
            payload_sha256, attachments, requested_destinations, created_at, updated_at,
            erased_by, spam_reason, status)
        SELECT gen_random_uuid(), %(tenant)s, 'q-' || g, 'ingest', 'contact_us', '', '1.0',
            now(), now() + g * interval '1 microsecond', NULL, %(payload)s::jsonb, 100,
            md5(g::text) || md5(g::text), '[]', NULL, now(), now(), '', '', 'accepted'
        FROM generate_series(1, %(count)s) AS g
        """,
        {"tenant": DRAIN_TENANT, "count": count, "payload": json.dumps(delivery_bench.BODY)},
    )


def queue_deliveries(database_url: str, count: int) -> None:
    """`count` submissions with a delivery to the sink, due now."""
    _queue(database_url, count, destinations=("sink",), due=True)


def _queue(database_url: str, count: int, *, destinations: tuple[str, ...], due: bool) -> None:
    """t_drain's rows of an earlier run gone, `count` new submissions with a pending delivery
    each to each of its destinations of those names, due now or (a pull inbox) not at all."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        _forget_drain_rows(conn)
        _insert_drain_submissions(conn, count)
        conn.execute(
            """
            INSERT INTO delivery_delivery (id, tenant_id, submission_id, destination_id, status,
                attempts, cycle_started_at_attempt, next_attempt_at, last_error, created_at,
                updated_at, trace_context)
            SELECT gen_random_uuid(), s.tenant_id, s.id, d.id, 'pending', 0, 0,
                CASE WHEN %(due)s THEN now() END, '', clock_timestamp(), now(), ''
            FROM ingest_submission s JOIN delivery_destination d
              ON d.tenant_id = s.tenant_id AND d.name = ANY(%(destinations)s)
              AND d.deleted_at IS NULL
            WHERE s.tenant_id = %(tenant)s ORDER BY s.received_at
            """,
            {"due": due, "destinations": list(destinations), "tenant": DRAIN_TENANT},
        )
        conn.execute("ANALYZE delivery_delivery")


def drained(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM delivery_delivery WHERE tenant_id = %s AND status = 'succeeded'",
            (DRAIN_TENANT,),
        ).fetchone()[0]


def delivery(args, env: dict) -> dict:
    sink_port = free_port()
    sink = delivery_bench.start([sys.executable, "bench/sink.py", str(sink_port)], env)
    try:
        delivery_bench.wait_port(sink_port)
        sink_url = f"http://127.0.0.1:{sink_port}/hook"
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            _forget_drain_rows(conn)  # (a sink of an earlier run: its deliveries first)
            conn.execute(
                "DELETE FROM delivery_destination WHERE tenant_id = %s AND name = 'sink'",
                (DRAIN_TENANT,),
            )
        manage(env, "destinations", "add", DRAIN_TENANT, "sink", "--url", sink_url,
               "--max-concurrency", "0")  # fmt: skip
        floors, runs = [], []
        for _ in range(args.rounds):
            posts = delivery_bench._floor(sink_url, args.deliveries, args.floor_concurrency)
            floors.append(asyncio.run(posts))
            queue_deliveries(args.database_url, args.deliveries)
            runs.append(_drain(args, env))
            rate = runs[-1]["per_second"]
            log(f"delivery floor {floors[-1]:7.0f} posts/s, formbridge {rate:7.0f}/s")
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            _forget_drain_rows(conn)
    finally:
        delivery_bench.stop(sink)
    return {
        "floor_per_second": statistics.median(floors),
        "per_second": statistics.median(r["per_second"] for r in runs),
        "worker_peak_rss_mb": max(r["worker_peak_rss_mb"] for r in runs),
        "runs": runs,
    }


def _drain(args, env: dict) -> dict:
    from celery import Celery

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    worker = delivery_bench.start(delivery_bench.worker_command(args), env)
    try:
        time.sleep(3)  # worker boot, not measured
        peak = delivery_bench.rss_of_tree(worker.pid)
        publisher = Celery(broker=env["CELERY_BROKER_URL"])
        started = time.perf_counter()
        for _ in range(args.worker_concurrency):
            publisher.send_task("delivery.drain")
        done = 0
        while done < args.deliveries:
            time.sleep(0.05)
            done = drained(args.database_url)
            peak = max(peak, delivery_bench.rss_of_tree(worker.pid))
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"only {done} of {args.deliveries} delivered in 300 s")
        elapsed = time.perf_counter() - started
    finally:
        delivery_bench.stop(worker)
    return {"per_second": args.deliveries / elapsed, "worker_peak_rss_mb": peak / 2**20}


def delivery_lines(result: dict) -> list[str]:
    ratio = result["per_second"] / result["floor_per_second"]
    return [
        f"  {'floor (aiohttp, pooled)':<34}{result['floor_per_second']:8.0f} posts/s",
        f"  {'formbridge, 2 worker processes':<34}{result['per_second']:8.0f} deliveries/s  "
        f"{ratio:4.0%} of the floor (target >= 35%): {'PASS' if ratio >= 0.35 else 'MISS'}",
        f"  worker peak RSS {result['worker_peak_rss_mb']:.0f} MB (target <= 200 MB)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=10_000_000)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--reuse", action="store_true", help="Keep the data a previous run filled.")
    parser.add_argument("--only", choices=("ingest", "reads", "delivery"), action="append")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for every app")
    parser.add_argument("--connections", type=int, default=16, help="ingest connections")
    parser.add_argument("--read-connections", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds; the median counts"
    )
    parser.add_argument("--requests-per-run", type=int, default=80_000)
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument(
        "--inbox-events", type=int, default=200_000, help="queued for the inbox and its floor"
    )
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--floor-concurrency", type=int, default=64)
    parser.add_argument(
        "--database-url", default=scale_database_url(os.environ["DATABASE_URL"]),
        help="Where the 10 M rows live (default: DATABASE_URL's database + _scale).",
    )  # fmt: skip
    args = parser.parse_args()
    env = {
        **delivery_bench.process_env(args.database_url),
        "FLOOR_DATABASE_URL": args.database_url,
        "FLOOR_SECRET": SECRET,
    }
    wrk = ensure_wrk()
    started = time.monotonic()
    meta = filled(args.database_url) if args.reuse else None
    if meta and meta["submissions"] == args.submissions and meta["tenants"] == args.tenants:
        log(f"reusing {meta['submissions']:,} submissions over {meta['tenants']} tenants")
    else:
        meta = fill(env, args.database_url, submissions=args.submissions, tenants=args.tenants,
                    secret=SECRET)  # fmt: skip
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    only = set(args.only or ("ingest", "reads", "delivery"))
    lines = [
        "",
        f"scale benchmark: {meta['submissions']:,} submissions stored over {meta['tenants']} "
        f"tenants (one holds 30 %), {os.cpu_count()} cores, {args.workers} gunicorn workers",
    ]
    results: dict = {"meta": {k: v for k, v in meta.items() if k != "keys"}}
    sections = (
        ("ingest", lambda: ingest(args, env, wrk, meta), ingest_lines, "ingest"),
        ("reads", lambda: reads(args, env, wrk, meta), read_lines,
         f"reads ({args.read_connections} connections)"),
        ("delivery", lambda: delivery(args, env), delivery_lines, "delivery"),
    )  # fmt: skip
    for name, run, describe, title in sections:
        if name in only:
            vacuum_churned(args.database_url)
            results[name] = run()
            lines += [title, *describe(results[name])]
            print("\n".join([title, *describe(results[name])]), flush=True)  # as it comes
    lines.append(f"run took {time.monotonic() - started:.0f} s")
    print("\n".join(lines))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (out / f"scale-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
