"""make bench-delivery: end-to-end deliveries/s against a floor, latency, and worker memory.

- floor: one process posting the same bodies to the same sink with a pooled aiohttp client;
- throughput: N queued deliveries drained by the real Celery worker (claim, send, record the
  attempt, update the state), timed until the last one is recorded as succeeded;
- latency: the real stack (gunicorn, worker, beat) under steady signed ingest; ingest ->
  first attempt per delivery, p50 / p99;
- memory: the worker processes' peak RSS during the throughput run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import httpx
import psycopg
import redis
from celery import Celery

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.ingest import (
    PYTHON,
    ROOT,
    SECRET,
    TENANT,
    free_port,
    log,
    manage,
    recreate_database,
)
from tests.signing import signed_headers

BODY = {"name": "Jane Doe", "email": "jane@example.com", "message": "Hello! A quote, please."}


def start(command: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def worker_command(args) -> list[str]:
    return [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "formbridge",
        "worker",
        "--loglevel",
        "WARNING",
        "--concurrency",
        str(args.worker_concurrency),
        "--without-gossip",
        "--without-mingle",
    ]


def web_command() -> list[str]:
    return [PYTHON, "-m", "gunicorn", "formbridge.wsgi:application", "--config",
            "deploy/gunicorn.conf.py"]  # fmt: skip


def beat_command(schedule: str) -> list[str]:
    return [PYTHON, "-m", "celery", "-A", "formbridge", "beat", "--loglevel", "WARNING",
            "--schedule", schedule]  # fmt: skip


def process_env(database_url: str) -> dict:
    """The environment of the processes a bench starts, on this database (loopback far ends
    allowed as destinations)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "DELIVERY_ALLOWED_NETWORKS": "127.0.0.0/8",
    }


def prepare_tenant(database_url: str, what: str) -> dict:
    """A fresh database with the bench tenant (no inbox); returns the processes' environment."""
    env = process_env(database_url)
    log(f"creating the {what} database, a tenant and its destinations")
    recreate_database(database_url)
    manage(env, "migrate", "--noinput")
    manage(env, "tenants", "create", TENANT, "--secret", SECRET, "--no-inbox")
    # Its AWS destinations reach moto's queues, buses, buckets and tables with the bench's own
    # credentials: an operator's grant, as production needs one (docs/DEPLOY.md).
    manage(env, "tenants", "allow-target", TENANT, "arn:aws:*")
    return env


def wait_port(port: int) -> None:
    import socket

    for _ in range(150):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


async def _floor(url: str, count: int, concurrency: int) -> float:
    body = json.dumps({"payload": BODY, "submission_id": "floor"}).encode()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue = iter(range(count))

        async def worker():
            for _ in queue:
                async with session.post(
                    url, data=body, headers={"Content-Type": "application/json"}
                ) as r:
                    await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


def rss_of_tree(root_pid: int) -> int:
    """Largest RSS (bytes) among the process and its children."""
    pids = [root_pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(root_pid)], capture_output=True, text=True)
        pids += [int(p) for p in children.stdout.split()]
    except OSError:
        pass
    largest = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    largest = max(largest, int(line.split()[1]) * 1024)
        except OSError:
            continue
    return largest


def queue_deliveries(database_url: str, count: int, *, ordering_keys: int = 0) -> None:
    """N submissions with one pending delivery each: the 'queued' state the engine starts from.
    With `ordering_keys`, the deliveries are spread over that many FIFO keys."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE delivery_deliveryattempt, delivery_delivery, ingest_submission")
        conn.execute(
            """
            INSERT INTO ingest_submission (id, tenant_id, submission_id, source, form_id,
                event_type, schema_version, submitted_at, received_at, ip, payload, payload_bytes,
                payload_sha256, attachments, requested_destinations, created_at, updated_at)
            SELECT gen_random_uuid(), %(tenant)s, 'q-' || g, 'ingest', 'contact_us', '', '1.0',
                now(), now(), NULL, %(payload)s::jsonb, 100, md5(g::text) || md5(g::text), '[]',
                NULL, now(), now()
            FROM generate_series(1, %(count)s) AS g
            """,
            {"tenant": TENANT, "count": count, "payload": json.dumps(BODY)},
        )
        conn.execute(
            """
            INSERT INTO delivery_delivery (id, tenant_id, submission_id, destination_id, status,
                attempts, cycle_started_at_attempt, next_attempt_at, last_error, created_at,
                updated_at, ordering_key)
            SELECT gen_random_uuid(), s.tenant_id, s.id, d.id, 'pending', 0, 0, now(), '',
                clock_timestamp(), now(),
                CASE WHEN %(keys)s > 0 THEN 'k' || abs(hashtext(s.submission_id) %% %(keys)s) END
            FROM ingest_submission s CROSS JOIN delivery_destination d
            WHERE d.deleted_at IS NULL
            ORDER BY s.submission_id
            """,
            {"keys": ordering_keys},
        )
        conn.execute("VACUUM ANALYZE delivery_delivery")


def succeeded(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM delivery_delivery WHERE status = 'succeeded'"
        ).fetchone()[0]


def throughput(args, env: dict, count: int | None = None, *, ordering_keys: int = 0) -> dict:
    """The real worker drains `count` (default --deliveries) queued deliveries to the live
    destinations, timed until the last one is recorded as succeeded."""
    count = count or args.deliveries
    queue_deliveries(args.database_url, count, ordering_keys=ordering_keys)
    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    worker = start(worker_command(args), env)
    peak = 0
    try:
        time.sleep(3)  # worker boot, not measured
        peak = rss_of_tree(worker.pid)
        # One drain per worker process, published straight to the broker: the timed window
        # holds deliveries, not the boot of a Django process to publish them.
        publisher = Celery(broker=env["CELERY_BROKER_URL"])
        started = time.perf_counter()
        for _ in range(args.worker_concurrency):
            publisher.send_task("delivery.drain")
        done = 0
        while done < count:
            time.sleep(0.05)
            done = succeeded(args.database_url)
            peak = max(peak, rss_of_tree(worker.pid))
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"only {done} of {count} delivered in 300 s")
        elapsed = time.perf_counter() - started
    finally:
        stop(worker)
    return {
        "deliveries": count,
        "seconds": elapsed,
        "per_second": count / elapsed,
        "worker_peak_rss_mb": peak / 2**20,
    }


def latency(args, env: dict) -> dict:
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE delivery_deliveryattempt, delivery_delivery, ingest_submission")
    web_port = free_port()
    web_env = {**env, "PORT": str(web_port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2"}
    processes = [
        start(web_command(), web_env),
        start(
            worker_command(args),
            env,
        ),
        start(beat_command(str(ROOT / "var" / "bench-beat-schedule")), env),
    ]
    try:
        wait_port(web_port)
        time.sleep(3)
        url = f"http://127.0.0.1:{web_port}/v1/ingest"
        interval = 1 / args.latency_rate
        total = int(args.latency_rate * args.latency_seconds)
        with httpx.Client() as client:
            next_at = time.perf_counter()
            for n in range(total):
                body = json.dumps({"n": n, **BODY}).encode()
                response = client.post(
                    url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        **signed_headers(tenant_id=TENANT, secret=SECRET, body=body),
                    },
                )
                assert response.status_code == 202, response.text
                next_at += interval
                time.sleep(max(0.0, next_at - time.perf_counter()))
        deadline = time.time() + 30
        while succeeded(args.database_url) < total and time.time() < deadline:
            time.sleep(0.2)
        with psycopg.connect(args.database_url) as conn:
            waits = [
                float(row[0])
                for row in conn.execute(
                    """SELECT EXTRACT(EPOCH FROM (a.started_at - s.received_at)) * 1000
                   FROM delivery_deliveryattempt a JOIN delivery_delivery d ON d.id = a.delivery_id
                   JOIN ingest_submission s ON s.id = d.submission_id WHERE a.number = 1"""
                )
            ]
    finally:
        for process in processes:
            stop(process)
    waits.sort()
    return {
        "rate_per_second": args.latency_rate,
        "submissions": total,
        "measured": len(waits),
        "p50_ms": statistics.median(waits),
        "p99_ms": waits[min(len(waits) - 1, int(len(waits) * 0.99))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=20000)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--floor-concurrency", type=int, default=64)
    parser.add_argument("--latency-rate", type=float, default=50.0, help="submissions/s")
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--database-url", default=os.environ["DATABASE_URL"])
    args = parser.parse_args()

    env = prepare_tenant(args.database_url, "bench")
    sink_port = free_port()
    sink = start([PYTHON, "bench/sink.py", str(sink_port)], env)
    try:
        wait_port(sink_port)
        sink_url = f"http://127.0.0.1:{sink_port}/hook"
        manage(
            env, "destinations", "add", TENANT, "sink", "--url", sink_url, "--max-concurrency", "0"
        )
        log(f"floor: {args.deliveries} posts with a pooled aiohttp client")
        floor = asyncio.run(_floor(sink_url, args.deliveries, args.floor_concurrency))
        log(f"formbridge: draining {args.deliveries} queued deliveries")
        engine = throughput(args, env)
        log(f"latency: steady {args.latency_rate:g}/s signed ingest for {args.latency_seconds:g} s")
        lat = latency(args, env)
    finally:
        stop(sink)
    ratio = engine["per_second"] / floor
    lines = [
        "",
        f"delivery benchmark ({os.cpu_count()} cores, worker concurrency "
        f"{args.worker_concurrency})",
        f"  floor (aiohttp, {args.floor_concurrency} concurrent)   {floor:8.0f} posts/s",
        f"  formbridge end to end            {engine['per_second']:8.0f} deliveries/s "
        f"({engine['deliveries']} in {engine['seconds']:.1f} s)",
        f"  ratio {ratio:.0%} of the floor (target >= 20%): {'PASS' if ratio >= 0.2 else 'MISS'}",
        f"  ingest -> first attempt at {lat['rate_per_second']:g}/s: p50 {lat['p50_ms']:.0f} ms, "
        f"p99 {lat['p99_ms']:.0f} ms ({lat['measured']}/{lat['submissions']} measured; "
        f"target p50 <= 100 ms)",
        f"  worker peak RSS {engine['worker_peak_rss_mb']:.0f} MB (target <= 200 MB)",
    ]
    print("\n".join(lines))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"delivery-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json").write_text(
        json.dumps(
            {"floor_per_second": floor, "engine": engine, "latency": lat}, indent=2, default=float
        )
    )


if __name__ == "__main__":
    main()
