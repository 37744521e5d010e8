"""make bench-soak: the whole stack at a steady ingest rate, with every connector kind active.

gunicorn (2 workers), a Celery worker (2 processes) and beat. Signed POST /v1/ingest at a steady
rate; each submission goes to one destination of every connector kind: REST (the aiohttp sink),
SQS, EventBridge, S3 and DynamoDB (moto's server), Slack, HubSpot and Salesforce (the test
suite's stand-ins), e-mail (aiosmtpd), and the tenant's pull inbox, which a consumer leases and
acks as it goes. An SQS consumer keeps moto's queue shallow, as a real one would.

Every 10 s it samples the RSS of each web and worker process (the largest of each tree). It
prints, per window, ingest p50/p99 and the RSS at the window's end; then the delivery lag, every
delivery not succeeded by kind, and RSS at the start (after warm-up), peak and end: a leak shows
as a line that keeps rising.

`--at-scale` runs against the 10 M-row database of `make bench-scale` (fill it once first), with
a tenant of its own; its destinations are deleted at the end, so the scale runs route nothing
to them. The 30-minute soak of the scale issue is
`make bench-soak BENCH_ARGS="--at-scale --seconds 1800"`.
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
    beat_command,
    prepare_tenant,
    process_env,
    rss_of_tree,
    start,
    stop,
    wait_port,
    web_command,
    worker_command,
)
from bench.far_ends import Destination, FarEnds
from bench.ingest import ROOT, SECRET, TENANT, free_port, log, manage
from bench.scale import scale_database_url
from bench.scale_fill import filled
from tests.signing import signed_headers

BODY = {"name": "Jane Doe", "email": "jane@example.com", "message": "Hello! A quote, please."}
WEB_TARGET_MB, WORKER_TARGET_MB = 150, 200
SAMPLE_SECONDS = 10


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


class Soak:
    """The load and the observers, each a thread; they stop when `done` is set."""

    def __init__(self, base_url: str, tenant: str, inbox_key: str, queue_url: str, sqs) -> None:
        self.base_url, self.tenant, self.inbox_key = base_url, tenant, inbox_key
        self.queue_url, self.sqs = queue_url, sqs
        self.done = threading.Event()
        self.latencies: list[tuple[float, float]] = []  # (seconds since start, ms)
        self.failures: list[int] = []
        self.samples: list[tuple[float, float, float]] = []  # (seconds, web MB, worker MB)
        self.acked = self.sqs_received = 0
        self.errors: list[str] = []

    def drive(self, rate: float, seconds: float) -> None:
        interval, total = 1 / rate, int(rate * seconds)
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            began = next_at = time.perf_counter()
            for n in range(total):
                body = json.dumps({"n": n, **BODY}).encode()
                headers = {
                    "Content-Type": "application/json",
                    **signed_headers(tenant_id=self.tenant, secret=SECRET, body=body),
                }
                sent = time.perf_counter()
                response = client.post("/v1/ingest", content=body, headers=headers)
                self.latencies.append((sent - began, (time.perf_counter() - sent) * 1000))
                if response.status_code != 202:
                    self.failures.append(response.status_code)
                next_at += interval
                time.sleep(max(0.0, next_at - time.perf_counter()))

    def consume_inbox(self) -> None:
        headers = {"Authorization": f"Bearer {self.inbox_key}"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=30) as client:
            while not self.done.is_set():
                page = client.get("/v1/inbox", params={"lease": 60, "limit": 100})
                if page.status_code != 200:
                    self.errors.append(f"inbox {page.status_code} {page.text[:200]}")
                    time.sleep(1)
                    continue
                ids = [event["event_id"] for event in page.json()["events"]]
                if ids:
                    ack = client.post("/v1/ack", json={"event_ids": ids})
                    self.acked += ack.json().get("acknowledged", 0)
                else:
                    self.done.wait(0.5)

    def consume_sqs(self) -> None:
        while not self.done.is_set():
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            if messages:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages)
                    ],
                )
                self.sqs_received += len(messages)

    def sample(self, web_pid: int, worker_pid: int) -> None:
        began = time.perf_counter()
        while not self.done.wait(SAMPLE_SECONDS):
            self.samples.append(
                (
                    time.perf_counter() - began,
                    rss_of_tree(web_pid) / 2**20,
                    rss_of_tree(worker_pid) / 2**20,
                )
            )


def create_tenant(args) -> tuple[dict, str]:
    """The database and tenant the soak writes to, and the processes' environment."""
    if not args.at_scale:
        return prepare_tenant(args.database_url, "soak"), TENANT
    database_url = scale_database_url(args.database_url)
    if not filled(database_url):
        sys.exit(f"{database_url} holds no filled scale data: run make bench-scale once first")
    env = process_env(database_url)
    tenant = f"t_soak_{time.strftime('%H%M%S')}"
    log(f"soak at scale: tenant {tenant} in {database_url}")
    manage(env, "tenants", "create", tenant, "--secret", SECRET, "--no-inbox")
    manage(env, "tenants", "allow-target", tenant, "arn:aws:*")  # its moto targets (DEPLOY.md)
    return env, tenant


def add_destinations(env: dict, tenant: str, pushed: list[Destination]) -> list[str]:
    """One destination per kind, named by it, and the tenant's inbox; returns the names."""
    names = []
    for destination in pushed:
        extra = ["--auth-secret", destination.secret] if destination.secret else []
        manage(
            env,
            "destinations",
            "add",
            tenant,
            destination.kind,
            "--kind",
            destination.kind,
            "--config",
            json.dumps(destination.config),
            "--max-concurrency",
            "0",
            *extra,
        )
        names.append(destination.kind)
    manage(env, "destinations", "add", tenant, "inbox", "--kind", "inbox", "--config", "{}")
    return [*names, "inbox"]


def outcome(database_url: str, tenant: str, expected: int, wait: float) -> dict:
    """Wait for every delivery to settle, then read what happened to each, by kind."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        deadline = time.time() + wait
        while time.time() < deadline:
            open_ = conn.execute(
                "SELECT count(*) FROM delivery_delivery WHERE tenant_id = %s"
                " AND status NOT IN ('succeeded', 'dead', 'cancelled')",
                [tenant],
            ).fetchone()[0]
            if open_ == 0:
                break
            time.sleep(1)
        by_kind = conn.execute(
            """SELECT dest.kind, d.status, count(*) FROM delivery_delivery d
               JOIN delivery_destination dest ON dest.id = d.destination_id
               WHERE d.tenant_id = %s GROUP BY 1, 2 ORDER BY 1, 2""",
            [tenant],
        ).fetchall()
        lag = [
            float(row[0])
            for row in conn.execute(
                """SELECT EXTRACT(EPOCH FROM (d.delivered_at - s.received_at)) * 1000
                   FROM delivery_delivery d JOIN ingest_submission s ON s.id = d.submission_id
                   JOIN delivery_destination dest ON dest.id = d.destination_id
                   WHERE d.tenant_id = %s AND d.status = 'succeeded' AND dest.kind <> 'inbox'""",
                [tenant],
            )
        ]
    succeeded = sum(n for _, status, n in by_kind if status == "succeeded")
    return {"expected": expected, "succeeded": succeeded, "by_kind": by_kind, "lag_ms": lag}


def windows(soak: Soak, seconds: float, count: int) -> list[dict]:
    width = seconds / count
    rows = []
    for i in range(count):
        low, high = i * width, (i + 1) * width
        ms = [m for t, m in soak.latencies if low <= t < high]
        rss = [s for s in soak.samples if s[0] <= high] or [(0, float("nan"), float("nan"))]
        rows.append(
            {
                "until_s": round(high),
                "requests": len(ms),
                "p50_ms": round(percentile(ms, 0.5), 1),
                "p99_ms": round(percentile(ms, 0.99), 1),
                "web_mb": round(rss[-1][1]),
                "worker_mb": round(rss[-1][2]),
            }
        )
    return rows


def report(args, soak: Soak, result: dict, rows: list[dict], elapsed: float) -> dict:
    warm = [s for s in soak.samples if s[0] >= args.warmup] or soak.samples
    web, worker = [s[1] for s in warm], [s[2] for s in warm]
    lag = result["lag_ms"]
    summary = {
        "at_scale": args.at_scale,
        "rate_per_second": args.rate,
        "seconds": round(elapsed, 1),
        "submissions": len(soak.latencies),
        "ingest_failures": len(soak.failures),
        "ingest_p50_ms": round(percentile([m for _, m in soak.latencies], 0.5), 1),
        "ingest_p99_ms": round(percentile([m for _, m in soak.latencies], 0.99), 1),
        "deliveries_expected": result["expected"],
        "deliveries_succeeded": result["succeeded"],
        "not_succeeded": [row for row in result["by_kind"] if row[1] != "succeeded"],
        "delivered_p50_ms": round(statistics.median(lag), 1) if lag else None,
        "delivered_p99_ms": round(percentile(lag, 0.99), 1),
        "inbox_acked": soak.acked,
        "sqs_received": soak.sqs_received,
        "web_mb": {"start": round(web[0]), "peak": round(max(web)), "end": round(web[-1])},
        "worker_mb": {
            "start": round(worker[0]),
            "peak": round(max(worker)),
            "end": round(worker[-1]),
        },
        "windows": rows,
        "errors": soak.errors[:5],
    }
    ok = lambda peak, target: "PASS" if peak <= target else "MISS"  # noqa: E731
    lines = [
        "",
        f"soak ({os.cpu_count()} cores{', 10 M rows stored' if args.at_scale else ''}): "
        f"{summary['submissions']} submissions in {summary['seconds']} s at {args.rate:g}/s, "
        f"each to {len(result['kinds'])} destinations ({', '.join(result['kinds'])})",
        f"  ingest failures {summary['ingest_failures']}; ingest p50 {summary['ingest_p50_ms']} ms,"
        f" p99 {summary['ingest_p99_ms']} ms",
        f"  deliveries succeeded {summary['deliveries_succeeded']} of "
        f"{summary['deliveries_expected']}; not succeeded: {summary['not_succeeded'] or 'none'}",
        f"  ingest -> delivered (push kinds) p50 {summary['delivered_p50_ms']} ms, "
        f"p99 {summary['delivered_p99_ms']} ms; inbox acked {soak.acked}",
        f"  {'until':>7}{'requests':>10}{'p50 ms':>8}{'p99 ms':>8}{'web MB':>8}{'worker MB':>11}",
        *(
            f"  {r['until_s']:>6}s{r['requests']:>10}{r['p50_ms']:>8}{r['p99_ms']:>8}"
            f"{r['web_mb']:>8}{r['worker_mb']:>11}"
            for r in rows
        ),
        f"  web RSS (largest process) {summary['web_mb']['start']} -> peak "
        f"{summary['web_mb']['peak']} -> end {summary['web_mb']['end']} MB (target <= "
        f"{WEB_TARGET_MB}): {ok(max(web), WEB_TARGET_MB)}",
        f"  worker RSS (largest process) {summary['worker_mb']['start']} -> peak "
        f"{summary['worker_mb']['peak']} -> end {summary['worker_mb']['end']} MB (target <= "
        f"{WORKER_TARGET_MB}): {ok(max(worker), WORKER_TARGET_MB)}",
    ]
    if soak.errors:
        lines.append(f"  consumer errors: {soak.errors[:3]}")
    print("\n".join(lines))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=10.0, help="submissions per second")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before RSS 'start'")
    parser.add_argument("--windows", type=int, default=6, help="rows of the per-window table")
    parser.add_argument("--at-scale", action="store_true", help="in make bench-scale's database")
    parser.add_argument("--database-url", default=os.environ["DATABASE_URL"])
    args = parser.parse_args()
    env, tenant = create_tenant(args)
    database_url = env["DATABASE_URL"]
    web_port = free_port()
    with FarEnds(env) as far:
        pushed = far.every_push_kind()
        kinds = add_destinations(env, tenant, pushed)
        created = manage(env, "apikeys", "create", tenant, "--scopes", "inbox", "--json")
        key = json.loads(created)["key"]
        web_env = {**env, "PORT": str(web_port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2"}
        web = start(web_command(), web_env)
        worker = start(worker_command(argparse.Namespace(worker_concurrency=2)), env)
        beat = start(beat_command(str(ROOT / "var" / "soak-beat-schedule")), env)
        queue_url = next(d.config["queue_url"] for d in pushed if d.kind == "sqs")
        soak = Soak(f"http://127.0.0.1:{web_port}", tenant, key, queue_url, far.client("sqs"))
        try:
            wait_port(web_port)
            time.sleep(3)
            log(
                f"soak: {args.rate:g} submissions/s x {len(kinds)} destinations for "
                f"{args.seconds:g} s"
            )
            observers = [
                threading.Thread(target=soak.sample, args=(web.pid, worker.pid)),
                threading.Thread(target=soak.consume_inbox),
                threading.Thread(target=soak.consume_sqs),
            ]
            for thread in observers:
                thread.start()
            started = time.perf_counter()
            soak.drive(args.rate, args.seconds)
            elapsed = time.perf_counter() - started
            result = outcome(database_url, tenant, len(soak.latencies) * len(kinds), wait=180)
            soak.done.set()
            for thread in observers:
                thread.join()
        finally:
            soak.done.set()
            for process in (beat, worker, web):
                stop(process)
            if args.at_scale:
                for name in kinds:
                    manage(env, "destinations", "delete", tenant, name)
    result["kinds"] = kinds
    summary = report(args, soak, result, windows(soak, elapsed, args.windows), elapsed)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"soak-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json").write_text(
        json.dumps(summary, indent=2, default=str)
    )


if __name__ == "__main__":
    main()
