"""make bench-ingest: FormBridge's POST /v1/ingest against the minimal WSGI floor, in one run,
and beside it the other ways in: a Stripe webhook at a source (POST /v1/sources/{token}) and a
browser's urlencoded post to a form (POST /f/{form_key}), each measured against signed ingest.

All servers run under gunicorn with the same config and worker count, on the same PostgreSQL
database and Redis; wrk drives each with pre-signed, never-repeated requests at 16 connections
over loopback. Rounds alternate floor / FormBridge / source / form so machine noise hits all.
Then 1 M rows are stored in each table and the rounds are repeated.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.inbound_requests import (  # noqa: E402 (after the path is set)
    FORM_ORIGIN,
    STRIPE_SECRET,
    write_form_requests,
    write_stripe_requests,
)
from bench.wrk import request_line, run_wrk  # noqa: E402

PYTHON = sys.executable
TENANT = "t_bench"
SECRET = "fbs_bench-secret-0123456789abcdef"


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_wrk() -> str:
    if shutil.which("wrk") is None:
        log("installing wrk (Debian package) for the load generator")
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk")


def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout


def prepare(env: dict, database_url: str, *, with_inbox: bool) -> dict[str, str]:
    """A fresh database with the tenant, its Stripe source and its form; each target's path."""
    log("creating the bench database, migrating, creating the tenant")
    recreate_database(database_url)
    manage(env, "migrate", "--noinput")
    inbox = [] if with_inbox else ["--no-inbox"]
    manage(env, "tenants", "create", TENANT, "--secret", SECRET, *inbox, "--json")
    source = json.loads(
        manage(env, "sources", "add", TENANT, "stripe", "--preset", "stripe", "--secret",
               STRIPE_SECRET, "--json")
    )  # fmt: skip
    # The limiter runs (its Redis round trip is part of the cost) with room for the load.
    form = json.loads(
        manage(env, "forms", "add", TENANT, "contact", "--origin", FORM_ORIGIN, "--redirect",
               f"{FORM_ORIGIN}/thanks", "--rate-per-minute", "1000000", "--ip-rate-per-minute",
               "1000000", "--json")
    )  # fmt: skip
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE floor_submission (id uuid PRIMARY KEY, tenant_id text NOT NULL, "
            "payload jsonb NOT NULL, received_at timestamptz NOT NULL)"
        )
        conn.execute(
            "CREATE INDEX floor_submission_keyset ON floor_submission (tenant_id, received_at, id)"
        )
    return {
        "floor": "/v1/ingest",
        "formbridge": "/v1/ingest",
        "source": urlparse(source["url"]).path,
        "form": urlparse(form["action_url"]).path,
    }


def write_requests(
    path: Path, count: int, salt: str, url_path: str = "/v1/ingest", tenant: str = TENANT
) -> None:
    """Signed requests like a WordPress contact form's, each body unique."""
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    key = SECRET.encode()
    with path.open("w") as out:
        for n in range(count):
            body = json.dumps(
                {
                    "name": "Jane Doe",
                    "email": f"jane.doe+{salt}{n}@example.com",
                    "phone": "+1 555 0100",
                    "message": "Hello! I would like a quote for the spring campaign, please.",
                    "page": "https://example.com/contact",
                    "consent": True,
                },
                separators=(",", ":"),
            )
            signature = hmac.new(
                key, timestamp.encode() + b"\n" + body.encode(), hashlib.sha256
            ).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "X-Tenant-Id": tenant,
                "X-Timestamp": timestamp,
                "X-Signature": signature,
            }
            out.write(request_line("POST", url_path, headers, body))


def start_server(
    target: str, env: dict, port: int, workers: int, app: str | None = None
) -> subprocess.Popen:
    default = "bench.floor_app:application" if target == "floor" else "formbridge.wsgi:application"
    app = app or default
    server_env = {**env, "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": str(workers)}
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", app, "--config", "deploy/gunicorn.conf.py"],
        cwd=ROOT,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            if process.poll() is not None:
                stderr = process.stderr.read().decode()[-2000:]
                raise RuntimeError(f"{target} exited: {stderr}") from None
            time.sleep(0.2)
    raise RuntimeError(f"{target} did not start")


def stop_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def count_rows(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608


# Who writes each target's requests: signed ingest's, a Stripe webhook's, a browser form's.
WRITERS = {
    "floor": write_requests,
    "formbridge": write_requests,
    "source": write_stripe_requests,
    "form": write_form_requests,
}
TARGETS = tuple(WRITERS)


def measure(target: str, args, env: dict, wrk: str, workdir: Path, paths: dict) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}{paths[target]}"
    process = start_server(target, env, port, args.workers)
    table = "floor_submission" if target == "floor" else "ingest_submission"
    write = WRITERS[target]
    try:
        warm = workdir / "warm.tsv"
        write(warm, 20_000, f"warm-{target}-{time.time_ns()}-", paths[target])
        run_wrk(wrk, url, args.warmup, args.connections, warm)
        before = count_rows(args.database_url, table)
        measured = workdir / "measure.tsv"
        write(measured, args.requests_per_run, f"run-{target}-{time.time_ns()}-", paths[target])
        stats = run_wrk(wrk, url, args.duration, args.connections, measured)
        stats["rows_stored"] = count_rows(args.database_url, table) - before
    finally:
        stop_server(process)
    errors = sum(v for k, v in stats.items() if k.startswith("errors_"))
    if errors or stats["rows_stored"] < stats["requests"]:
        log(
            f"WARNING {target}: {errors} errors, {stats['rows_stored']} rows for "
            f"{stats['requests']} requests"
        )
    return stats


def seed_rows(database_url: str, count: int) -> None:
    log(f"storing {count:,} submissions in each table (this takes a minute)")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO ingest_submission (id, tenant_id, submission_id, source, form_id,
                event_type, schema_version, submitted_at, received_at, ip, payload, payload_bytes,
                payload_sha256, attachments, requested_destinations, created_at, updated_at)
            SELECT gen_random_uuid(), %(tenant)s, 'seed-' || g, 'ingest', 'contact_us', '', '1.0',
                t, t, '203.0.113.5', jsonb_build_object('name', 'Jane', 'n', g), 200,
                md5(g::text) || md5(g::text), '[]', NULL, t, t
            FROM generate_series(1, %(count)s) AS g,
                 LATERAL (SELECT now() - make_interval(secs => %(count)s - g)) AS ts(t)
            """,
            {"tenant": TENANT, "count": count},
        )
        conn.execute(
            """
            INSERT INTO floor_submission (id, tenant_id, payload, received_at)
            SELECT gen_random_uuid(), %(tenant)s, jsonb_build_object('name', 'Jane', 'n', g),
                   now() - make_interval(secs => %(count)s - g)
            FROM generate_series(1, %(count)s) AS g
            """,
            {"tenant": TENANT, "count": count},
        )
        conn.execute("VACUUM ANALYZE ingest_submission")
        conn.execute("VACUUM ANALYZE floor_submission")


def phase(label: str, args, env: dict, wrk: str, workdir: Path, paths: dict) -> dict:
    results: dict[str, list[dict]] = {target: [] for target in TARGETS}
    for round_number in range(1, args.rounds + 1):
        # Every other round in reverse, so no target always runs first or last.
        for target in TARGETS if round_number % 2 else reversed(TARGETS):
            stats = measure(target, args, env, wrk, workdir, paths)
            results[target].append(stats)
            log(
                f"{label} round {round_number} {target:<10} {stats['rps']:8.0f} req/s  "
                f"p50 {stats['p50_us'] / 1000:6.2f} ms  p99 {stats['p99_us'] / 1000:6.2f} ms"
            )
    return {target: summarize(runs) for target, runs in results.items()}


def summarize(runs: list[dict]) -> dict:
    return {
        "rps": statistics.median(r["rps"] for r in runs),
        "p50_ms": statistics.median(r["p50_us"] for r in runs) / 1000,
        "p99_ms": statistics.median(r["p99_us"] for r in runs) / 1000,
        "errors": sum(sum(v for k, v in r.items() if k.startswith("errors_")) for r in runs),
        "runs": runs,
    }


def report(label: str, summary: dict, stored: int) -> list[str]:
    floor, fb = summary["floor"], summary["formbridge"]
    ratio = fb["rps"] / floor["rps"]
    verdict = "PASS" if ratio >= 0.5 and fb["p99_ms"] <= 30 else "MISS"
    return [
        f"{label} ({stored:,} rows already stored)",
        f"  {'':<12}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}",
        f"  {'floor':<12}{floor['rps']:>10.0f}{floor['p50_ms']:>10.2f}{floor['p99_ms']:>10.2f}"
        f"{floor['errors']:>8}",
        f"  {'formbridge':<12}{fb['rps']:>10.0f}{fb['p50_ms']:>10.2f}{fb['p99_ms']:>10.2f}"
        f"{fb['errors']:>8}",
        f"  ratio {ratio:.0%} of the floor (target >= 50%), p99 {fb['p99_ms']:.1f} ms "
        f"(target <= 30 ms): {verdict}",
        *_other_ways_in(summary),
    ]


def _other_ways_in(summary: dict) -> list[str]:
    """The Stripe source and the browser form, each as a share of signed ingest's throughput."""
    fb = summary["formbridge"]
    lines = []
    for target, label in (("source", "stripe source"), ("form", "browser form")):
        other = summary[target]
        share = other["rps"] / fb["rps"]
        lines.append(
            f"  {label:<14}{other['rps']:>8.0f} req/s  p50 {other['p50_ms']:.2f} ms  "
            f"p99 {other['p99_ms']:.2f} ms  errors {other['errors']}  "
            f"{share:.0%} of signed ingest (target >= 80%): {'PASS' if share >= 0.8 else 'MISS'}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both apps")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per phase")
    parser.add_argument("--stored", type=int, default=1_000_000, help="rows for the second phase")
    parser.add_argument("--requests-per-run", type=int, default=80_000)
    parser.add_argument("--database-url", default=os.environ["DATABASE_URL"])
    parser.add_argument(
        "--with-inbox",
        action="store_true",
        help="Give the tenant its default inbox: each submission also writes a delivery row.",
    )
    args = parser.parse_args()

    wrk = ensure_wrk()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "LOG_LEVEL": "WARNING",
        "FLOOR_DATABASE_URL": args.database_url,
        "FLOOR_SECRET": SECRET,
    }
    paths = prepare(env, args.database_url, with_inbox=args.with_inbox)
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    lines = [
        f"ingest benchmark: {args.workers} gunicorn workers each, {args.connections} "
        f"connections, {args.duration:g} s x {args.rounds} rounds, {os.cpu_count()} cores"
        + (", tenant with an inbox (a delivery row per submission)" if args.with_inbox else "")
    ]
    results = {}
    # Request files in memory: tens of MB written to disk before each run were flushed during
    # it, competing with PostgreSQL's commits and skewing whichever target ran next.
    shm = Path("/dev/shm")  # noqa: S108 (mkdtemp below makes a private folder in it)
    in_memory = str(shm) if shm.is_dir() else None
    with tempfile.TemporaryDirectory(dir=in_memory) as tmp:
        workdir = Path(tmp)
        results["empty"] = phase("empty", args, env, wrk, workdir, paths)
        lines += report("empty table", results["empty"], 0)
        if args.stored:
            seed_rows(args.database_url, args.stored)
            results["stored"] = phase("stored", args, env, wrk, workdir, paths)
            lines += report("with stored rows", results["stored"], args.stored)
    print("\n".join(["", *lines]))
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"ingest-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    print(f"\nfull results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
