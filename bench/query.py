"""make bench-query: the read API with 1 M submissions stored across 100 tenants.

Each submission has one delivery and one attempt, as after a normal day. Measured under
gunicorn (same config as bench-ingest) with wrk replaying requests of random tenants:
- a first page of 50 (GET /v1/submissions?limit=50);
- a page of 50 deep inside a tenant's history (with a cursor);
- one submission with its deliveries and attempts (GET /v1/submissions/{id}).
Target: p99 <= 20 ms for each.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.ingest import (
    ROOT,
    ensure_wrk,
    free_port,
    log,
    manage,
    recreate_database,
    start_server,
    stop_server,
)
from bench.wrk import request_line, run_wrk
from core.cursors import encode_cursor

TENANTS = 100
TARGET_P99_MS = 20.0

CREATE_TENANTS = """
import json
from delivery.services import destination_create
from tenants.services import api_key_create, tenant_create
keys = {}
for n in range(%(tenants)d):
    tenant = tenant_create(tenant_id=f"t_q{n:03d}").tenant
    destination_create(tenant=tenant, name="crm", config={"url": "http://127.0.0.1:9/hook"})
    keys[tenant.id] = api_key_create(tenant=tenant, name="bench", scopes=["read"]).key
print(json.dumps(keys))
"""


def seed(database_url: str, count: int) -> None:
    """count submissions round-robin over the tenants, each with a delivery and an attempt."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO ingest_submission (id, tenant_id, submission_id, source, form_id,
                event_type, schema_version, submitted_at, received_at, ip, payload,
                payload_bytes, payload_sha256, attachments, requested_destinations,
                created_at, updated_at)
            SELECT gen_random_uuid(), 't_q' || lpad((g %% %(tenants)s)::text, 3, '0'),
                's-' || g, 'wordpress', 'contact_us', '', '1.0',
                now() - make_interval(secs => %(count)s - g),
                now() - make_interval(secs => %(count)s - g), '203.0.113.7',
                jsonb_build_object('name', 'Jane Doe', 'email', 'jane' || g || '@example.com',
                    'message', repeat('Hello! ', 20)),
                220, md5(g::text) || md5(g::text), '[]', NULL, now(), now()
            FROM generate_series(1, %(count)s) AS g
            """,
            {"tenants": TENANTS, "count": count},
        )
        conn.execute(
            """
            INSERT INTO delivery_delivery (id, tenant_id, submission_id, destination_id, status,
                attempts, cycle_started_at_attempt, next_attempt_at, last_status_code,
                last_error, delivered_at, created_at, updated_at)
            SELECT gen_random_uuid(), s.tenant_id, s.id, d.id, 'succeeded', 1, 0, NULL, 200,
                '', s.received_at, s.received_at, s.received_at
            FROM ingest_submission s JOIN delivery_destination d ON d.tenant_id = s.tenant_id
            """
        )
        conn.execute(
            """
            INSERT INTO delivery_deliveryattempt (delivery_id, tenant_id, number, started_at,
                duration_ms, request_method, request_url, request_headers, response_status,
                response_headers, response_body, error, outcome, created_at, updated_at)
            SELECT id, tenant_id, 1, created_at, 42, 'POST', 'http://127.0.0.1:9/hook',
                '{"Content-Type": "application/json"}', 200, '{"content-type": "text/plain"}',
                'ok', '', 'success', created_at, created_at
            FROM delivery_delivery
            """
        )
        conn.execute("VACUUM ANALYZE")


def deep_cursors(database_url: str) -> dict[str, str]:
    """Per tenant, a cursor half way down its history."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """
            SELECT tenant_id, received_at, id FROM (
                SELECT tenant_id, received_at, id, row_number() OVER (
                    PARTITION BY tenant_id ORDER BY received_at DESC, id DESC) AS n
                FROM ingest_submission) ranked
            WHERE n = (SELECT count(*) FROM ingest_submission) / %s / 2
            """,
            (TENANTS,),
        ).fetchall()
    return {tenant: encode_cursor(moment, row_id) for tenant, moment, row_id in rows}


def write_requests(path: Path, lines: list[tuple[str, str]]) -> None:
    path.write_text(
        "".join(
            request_line("GET", request_path, {"Authorization": f"Bearer {key}"})
            for request_path, key in lines
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--database-url", default=os.environ["DATABASE_URL"])
    parser.add_argument(
        "--reuse", action="store_true", help="Keep the data a previous run stored (faster)."
    )
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "LOG_LEVEL": "WARNING",
        "DELIVERY_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    wrk = ensure_wrk()
    keys_file = ROOT / "var" / "bench-query-keys.json"
    if args.reuse and keys_file.exists():
        log("reusing the stored data of the last run")
        keys = json.loads(keys_file.read_text())
    else:
        log("creating the bench database and 100 tenants")
        recreate_database(args.database_url)
        manage(env, "migrate", "--noinput")
        output = manage(env, "shell", "-c", CREATE_TENANTS % {"tenants": TENANTS})
        keys = json.loads(output.strip().splitlines()[-1])
        started = time.monotonic()
        log(f"storing {args.stored:,} submissions with a delivery and an attempt each")
        seed(args.database_url, args.stored)
        log(f"stored in {time.monotonic() - started:.0f} s")
        keys_file.parent.mkdir(exist_ok=True)
        keys_file.write_text(json.dumps(keys))
    cursors = deep_cursors(args.database_url)
    tenants = sorted(keys)
    rng = random.Random(7)
    sets = {
        "list, first page of 50": [
            ("/v1/submissions?limit=50", keys[rng.choice(tenants)]) for _ in range(5000)
        ],
        "list, page of 50 at a deep cursor": [
            (f"/v1/submissions?limit=50&cursor={cursors[t]}", keys[t])
            for t in (rng.choice(tenants) for _ in range(5000))
        ],
        "one submission with deliveries": [
            (f"/v1/submissions/s-{g}", keys[f"t_q{g % TENANTS:03d}"])
            for g in (rng.randint(1, args.stored) for _ in range(20000))
        ],
    }
    port = free_port()
    server = start_server("formbridge", env, port, args.workers)
    results = {}
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for name, lines in sets.items():
                path = Path(workdir) / "requests.tsv"
                write_requests(path, lines)
                log(f"{name}: {args.duration:g} s at {args.connections} connections")
                url = f"http://127.0.0.1:{port}/"
                run_wrk(wrk, url, 3, args.connections, path)  # warm caches and connections
                results[name] = run_wrk(wrk, url, args.duration, args.connections, path)
    finally:
        stop_server(server)
    print(
        f"\nquery benchmark ({args.stored:,} submissions, {TENANTS} tenants, "
        f"{args.workers} gunicorn workers, {args.connections} connections)"
    )
    passed = True
    for name, stats in results.items():
        p99 = stats["p99_us"] / 1000
        failed = sum(v for k, v in stats.items() if k.startswith("errors_"))
        ok = p99 <= TARGET_P99_MS and not failed
        passed &= ok
        print(
            f"  {name:36s} {stats['rps']:7.0f} req/s  p50 {stats['p50_us'] / 1000:5.1f} ms  "
            f"p99 {p99:5.1f} ms  errors {failed}  "
            f"{'PASS' if ok else 'MISS'} (p99 <= {TARGET_P99_MS:g} ms)"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (out / f"query-{stamp}.json").write_text(json.dumps(results, indent=2))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
