"""The 10 M-row database of make bench-scale, filled in minutes with server-side bulk inserts
(generate_series, no API, no network round trip per row), and kept between runs.

- 1,000 tenants: t_bench (the heavy one, 30 % of every table; its Stripe source and browser form
  are bench-ingest's) and t_s001..t_s999 sharing the rest; t_fanout (three destinations) for
  ingest with fan-out, and t_drain (one destination to the sink) for the delivery run.
- A year of history: submissions spread evenly over 365 days, over five forms and three
  sources; one delivery per submission (99 % succeeded, 0.9 % dead, 0.1 % retrying later) and
  one attempt per delivery; the daily counters those imply; the ingest floor's own table
  with as many rows.
- `bench_scale_meta` records what was filled; `--reuse` keeps it.
"""

from __future__ import annotations

import json
import time

import psycopg

from bench.ingest import TENANT, log, manage, prepare

FANOUT_TENANT = "t_fanout"
DRAIN_TENANT = "t_drain"
FORMS = ("contact", "quote", "newsletter", "signup", "support")
SOURCES = ("wordpress", "stripe", "form")

CREATE_TENANTS = """
import json
from delivery.services import destination_create, destination_delete
from tenants.models import SigningSecret
from tenants.services import api_key_create, tenant_create
from core import crypto
SECRET = %(secret)r
keys = {}
def tenant(tenant_id):
    created = tenant_create(tenant_id=tenant_id, secret=SECRET).tenant
    keys[tenant_id] = api_key_create(tenant=created, name="bench", scopes=["read", "inbox"]).key
    return created
heavy = __import__("tenants.models", fromlist=["Tenant"]).Tenant.objects.get(pk=%(heavy)r)
keys[heavy.id] = api_key_create(tenant=heavy, name="bench", scopes=["read", "inbox"]).key
# The filled history's deliveries need a destination; deleted, so new ingest routes nowhere.
old = destination_create(tenant=heavy, name="crm", config={"url": "http://127.0.0.1:9/hook"})
destination_delete(destination=old.destination)
for n in range(1, %(tenants)d):
    destination_create(tenant=tenant(f"t_s{n:03d}"), name="crm",
                       config={"url": "http://127.0.0.1:9/hook"})
fanout = tenant(%(fanout)r)
for name in ("crm", "sheet", "chat"):
    destination_create(tenant=fanout, name=name, config={"url": "http://127.0.0.1:9/" + name})
drain = tenant(%(drain)r)
# Its inbox serves the reads' lease test; the delivery run adds a destination to the sink.
destination_create(tenant=drain, name="inbox", kind="inbox", config={})
print(json.dumps(keys))
"""


def filled(database_url: str) -> dict | None:
    """What a previous fill recorded, or None."""
    try:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT meta FROM bench_scale_meta").fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None


def fill(env: dict, database_url: str, *, submissions: int, tenants: int, secret: str) -> dict:
    started = time.monotonic()
    paths = prepare(env, database_url, with_inbox=False)
    log(f"creating {tenants} tenants, their keys and destinations")
    output = manage(
        env,
        "shell",
        "-c",
        CREATE_TENANTS
        % {
            "secret": secret,
            "heavy": TENANT,
            "tenants": tenants,
            "fanout": FANOUT_TENANT,
            "drain": DRAIN_TENANT,
        },
    )
    keys = json.loads(output.strip().splitlines()[-1])
    with psycopg.connect(database_url, autocommit=True) as conn:
        # Bench data, consistent by construction: no FK triggers per row, no waiting on each
        # commit's flush, and indexes built once at the end (a sort) rather than row by row.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        rebuild = _drop_secondary_indexes(conn, _BULK_TABLES)
        for step, sql in _FILL:
            at = time.monotonic()
            conn.execute(
                sql,
                {
                    "count": submissions,
                    "tenant": TENANT,
                    "others": tenants - 1,
                    "forms": list(FORMS),
                    "sources": list(SOURCES),
                },
            )
            log(f"  {step}: {time.monotonic() - at:.0f} s")
        at = time.monotonic()
        for statement in rebuild:
            conn.execute(statement)
        log(f"  indexes and unique constraints: {time.monotonic() - at:.0f} s")
        at = time.monotonic()
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")
        log(f"  vacuum, analyze, checkpoint: {time.monotonic() - at:.0f} s")
        meta = {
            "submissions": submissions,
            "tenants": tenants,
            "heavy_share": 0.3,
            "keys": keys,
            "paths": paths,
            "fill_seconds": round(time.monotonic() - started),
        }
        conn.execute("CREATE TABLE bench_scale_meta (meta jsonb NOT NULL)")
        conn.execute("INSERT INTO bench_scale_meta VALUES (%s)", (json.dumps(meta),))
    log(f"filled in {meta['fill_seconds']} s")
    return meta


_BULK_TABLES = (
    "ingest_submission",
    "delivery_delivery",
    "delivery_deliveryattempt",
    "floor_submission",
)


def _drop_secondary_indexes(conn, tables: tuple[str, ...]) -> list[str]:
    """Drop every index of `tables` but the primary keys; return the statements that restore
    them (unique constraints as constraints, the rest as the indexes they were)."""
    restore = []
    constraints = conn.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)
        """,
        (list(tables),),
    ).fetchall()
    for table, name, definition in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    indexes = conn.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
        """,
        (list(tables),),
    ).fetchall()
    for name, definition in indexes:
        conn.execute(f"DROP INDEX {name}")
        restore.append(definition)
    return restore


# Row g (1..count) is received at `year ago + g/count of a year`, so every table is written in
# time order, as a year of ingest would have written it. Three rows in ten are t_bench's (so
# its 30 % spans the whole year too); the rest go round the other tenants.
_TENANT_OF = """
    CASE WHEN g %% 10 < 3 THEN %(tenant)s
         ELSE 't_s' || lpad((1 + g %% %(others)s)::text, 3, '0') END
"""
_RECEIVED_AT = "now() - interval '365 days' + (g::float8 / %(count)s) * interval '365 days'"

_FILL = [
    (
        "submissions",
        f"""
        INSERT INTO ingest_submission (id, tenant_id, submission_id, source, form_id, event_type,
            schema_version, submitted_at, received_at, ip, payload, payload_bytes,
            payload_sha256, attachments, requested_destinations, created_at, updated_at,
            erased_by, spam_reason, status)
        SELECT gen_random_uuid(), {_TENANT_OF},
            's-' || g, (%(sources)s::text[])[1 + g %% 3], (%(forms)s::text[])[1 + g %% 5], '',
            '1.0', t, t, '203.0.113.7',
            jsonb_build_object('name', 'Jane Doe', 'email', 'jane' || g || '@example.com',
                'message', 'Hello! I would like a quote for the spring campaign, please.'),
            160, md5(g::text) || md5(g::text), '[]', NULL, t, t, '', '', 'accepted'
        FROM generate_series(1, %(count)s) AS g, LATERAL (SELECT {_RECEIVED_AT}) AS ts(t)
        """,  # noqa: S608 (constant fragments, values bound)
    ),
    (
        "deliveries",
        """
        INSERT INTO delivery_delivery (id, tenant_id, submission_id, destination_id, status,
            attempts, cycle_started_at_attempt, next_attempt_at, last_status_code, last_error,
            delivered_at, created_at, updated_at, trace_context)
        SELECT gen_random_uuid(), s.tenant_id, s.id, d.id,
            CASE WHEN r < 0.99 THEN 'succeeded' WHEN r < 0.999 THEN 'dead' ELSE 'retrying' END,
            1, 0,
            CASE WHEN r >= 0.999 THEN now() + interval '1 hour' END,
            CASE WHEN r < 0.99 THEN 200 ELSE 500 END, '',
            CASE WHEN r < 0.99 THEN s.received_at END,
            s.received_at, s.received_at, ''
        FROM ingest_submission s
        JOIN delivery_destination d ON d.tenant_id = s.tenant_id AND d.name = 'crm',
        LATERAL (SELECT random()) AS chance(r)
        ORDER BY s.received_at
        """,
    ),
    (
        "attempts",
        """
        INSERT INTO delivery_deliveryattempt (delivery_id, tenant_id, number, started_at,
            duration_ms, request_method, request_url, request_headers, response_status,
            response_headers, response_body, error, outcome, created_at, updated_at)
        SELECT id, tenant_id, 1, created_at, 42, 'POST', 'http://127.0.0.1:9/hook',
            '{"Content-Type": "application/json"}', last_status_code,
            '{"content-type": "text/plain"}', 'ok', '',
            CASE WHEN status = 'succeeded' THEN 'success' ELSE 'retryable' END,
            created_at, created_at
        FROM delivery_delivery ORDER BY created_at
        """,
    ),
    (
        "daily counters",
        """
        INSERT INTO reporting_dailymetric (tenant_id, day, form_id, shard, submissions,
            deliveries_succeeded, deliveries_retried, deliveries_dead)
        SELECT tenant_id, received_at::date, form_id, 0, count(*), count(*), 0, 0
        FROM ingest_submission GROUP BY 1, 2, 3
        """,
    ),
    (
        "the ingest floor's table",
        f"""
        INSERT INTO floor_submission (id, tenant_id, payload, received_at)
        SELECT gen_random_uuid(), %(tenant)s,
            jsonb_build_object('name', 'Jane Doe', 'email', 'jane' || g || '@example.com'), t
        FROM generate_series(1, %(count)s) AS g, LATERAL (SELECT {_RECEIVED_AT}) AS ts(t)
        """,  # noqa: S608 (constant fragments, values bound)
    ),
]
