"""make bench-soak: a bounded soak of the real stack at a steady ingest rate.

gunicorn (2 workers), a Celery worker (2 processes) and beat; signed POST /v1/ingest at a steady
rate for a few minutes, each submission fanned out to three destinations on a local aiohttp
sink. Reports throughput, ingest p50/p99, ingest -> delivered p50/p99 (from the attempt rows),
and the RSS of web and worker processes at the start and the end (a leak shows as growth).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.delivery import (
    PYTHON,
    beat_command,
    prepare_tenant,
    rss_of_tree,
    start,
    stop,
    wait_port,
    web_command,
    worker_command,
)
from bench.ingest import ROOT, SECRET, TENANT, free_port, log, manage
from tests.signing import signed_headers

BODY = {"name": "Jane Doe", "email": "jane@example.com", "message": "Hello! A quote, please."}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def total_rss_mb(pid: int) -> float:
    return rss_of_tree(pid) / 1e6


def drive(url: str, rate: float, seconds: float, latencies: list[float], failures: list) -> None:
    interval, total = 1 / rate, int(rate * seconds)
    with httpx.Client(timeout=10) as client:
        next_at = time.perf_counter()
        for n in range(total):
            body = json.dumps({"n": n, **BODY}).encode()
            headers = {
                "Content-Type": "application/json",
                **signed_headers(tenant_id=TENANT, secret=SECRET, body=body),
            }
            started = time.perf_counter()
            response = client.post(url, content=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 202:
                failures.append(response.status_code)
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0, help="submissions per second")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--database-url", default=os.environ["DATABASE_URL"])
    args = parser.parse_args()
    env = prepare_tenant(args.database_url, "soak")
    sink_port, web_port = free_port(), free_port()
    sink = start([PYTHON, "bench/sink.py", str(sink_port)], env)
    wait_port(sink_port)
    for name in ("crm", "sheet", "slack"):
        url = f"http://127.0.0.1:{sink_port}/{name}"
        manage(env, "destinations", "add", TENANT, name, "--url", url, "--max-concurrency", "0")
    web = start(
        web_command(),
        {**env, "PORT": str(web_port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2"},
    )
    worker = start(worker_command(argparse.Namespace(worker_concurrency=2)), env)
    beat = start(beat_command(str(ROOT / "var" / "soak-beat-schedule")), env)
    latencies: list[float] = []
    failures: list = []
    try:
        wait_port(web_port)
        time.sleep(3)
        url = f"http://127.0.0.1:{web_port}/v1/ingest"
        log(f"soak: {args.rate:g} submissions/s x 3 destinations for {args.seconds:g} s")
        driver = threading.Thread(
            target=drive, args=(url, args.rate, args.seconds, latencies, failures)
        )
        started = time.perf_counter()
        driver.start()
        time.sleep(10)  # warm: imports done, pools filled
        rss_start = {"web": total_rss_mb(web.pid), "worker": total_rss_mb(worker.pid)}
        driver.join()
        elapsed = time.perf_counter() - started
        rss_end = {"web": total_rss_mb(web.pid), "worker": total_rss_mb(worker.pid)}
        expected = 3 * len(latencies)
        deadline = time.time() + 60
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            while time.time() < deadline:
                done = conn.execute(
                    "SELECT count(*) FROM delivery_delivery WHERE status = 'succeeded'"
                ).fetchone()[0]
                if done >= expected:
                    break
                time.sleep(0.5)
            delivered_ms = [
                float(row[0])
                for row in conn.execute(
                    """SELECT EXTRACT(EPOCH FROM (d.delivered_at - s.received_at)) * 1000
                       FROM delivery_delivery d JOIN ingest_submission s ON s.id = d.submission_id
                       WHERE d.status = 'succeeded'"""
                )
            ]
            not_done = conn.execute(
                "SELECT count(*) FROM delivery_delivery WHERE status <> 'succeeded'"
            ).fetchone()[0]
    finally:
        for process in (beat, worker, web, sink):
            stop(process)
    result = {
        "rate_per_second": args.rate,
        "seconds": round(elapsed, 1),
        "submissions": len(latencies),
        "ingest_failures": len(failures),
        "throughput_per_second": round(len(latencies) / elapsed, 1),
        "deliveries_per_second": round(len(delivered_ms) / elapsed, 1),
        "ingest_p50_ms": round(statistics.median(latencies), 1),
        "ingest_p99_ms": round(percentile(latencies, 0.99), 1),
        "delivered_p50_ms": round(statistics.median(delivered_ms), 1),
        "delivered_p99_ms": round(percentile(delivered_ms, 0.99), 1),
        "deliveries_not_succeeded": not_done,
        "rss_mb_start": {k: round(v) for k, v in rss_start.items()},
        "rss_mb_end": {k: round(v) for k, v in rss_end.items()},
    }
    print(
        "\n".join(
            [
                "",
                f"soak ({os.cpu_count()} cores): {result['submissions']} submissions in "
                f"{result['seconds']} s ({result['throughput_per_second']}/s), "
                f"{len(delivered_ms)} deliveries ({result['deliveries_per_second']}/s), "
                f"{result['ingest_failures']} ingest failures, "
                f"{not_done} deliveries not succeeded",
                f"  ingest p50 {result['ingest_p50_ms']} ms, p99 {result['ingest_p99_ms']} ms",
                f"  ingest -> delivered p50 {result['delivered_p50_ms']} ms, "
                f"p99 {result['delivered_p99_ms']} ms",
                f"  RSS web {result['rss_mb_start']['web']} -> {result['rss_mb_end']['web']} MB, "
                f"worker {result['rss_mb_start']['worker']} -> {result['rss_mb_end']['worker']} MB",
            ]
        )
    )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"soak-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json").write_text(
        json.dumps(result, indent=2)
    )


if __name__ == "__main__":
    main()
