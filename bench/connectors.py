"""make bench-delivery, second part: every connector kind against its local far end, FIFO beside
unordered, and the DynamoDB mirror's batched backfill.

Each kind's line is the real Celery worker draining N queued deliveries to one destination of
that kind, beside a floor: the same number of requests sent straight to the same far end by the
plainest client (boto3 from a thread pool, aiohttp, smtplib), so the ratio is FormBridge's cost,
not the far end's (moto and the vendor stand-ins are slower than the real services).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import smtplib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.delivery import BODY, prepare_tenant, throughput
from bench.far_ends import HUBSPOT_TOKEN, SF_CLIENT_ID, SF_SECRET, SLACK_TOKEN, FarEnds
from bench.ingest import PYTHON, TENANT, log, manage


def only_destination(env: dict, database_url: str, name: str, kind: str, config: dict,
                     secret: str = "", *extra: str) -> None:  # fmt: skip
    """Make this the tenant's one live destination."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE delivery_deliveryattempt, delivery_delivery")
        conn.execute("DELETE FROM delivery_mirrorcursor")
        conn.execute("DELETE FROM delivery_destination")
    args = ["destinations", "add", TENANT, name, "--kind", kind, "--config", json.dumps(config),
            "--max-concurrency", "0", *extra]  # fmt: skip
    if secret:
        args += ["--auth-secret", secret]
    manage(env, *args)


def threaded_floor(count: int, call, per_call: int = 1, threads: int = 32) -> float:
    calls = (count + per_call - 1) // per_call
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: call(), range(calls)))
    return count / (time.perf_counter() - started)


async def _http_floor(url: str, count: int, body: dict, headers: dict, method: str = "POST"):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        work = iter(range(count))

        async def worker():
            for _ in work:
                async with session.request(method, url, json=body, headers=headers) as reply:
                    await reply.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(64)))
        return count / (time.perf_counter() - started)


def http_floor(url: str, count: int, body: dict, headers: dict | None = None, method="POST"):
    return asyncio.run(_http_floor(url, count, body, headers or {}, method))


def event_body(n: int = 0) -> dict:
    return {"schema_version": "1.0", "submission_id": f"floor-{n}", "tenant_id": TENANT,
            "source": "ingest", "form_id": "contact_us", "event_type": "", "payload": BODY,
            "attachments": [], "received_at": "2026-12-03T09:00:00.000Z"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=2000, help="per connector kind")
    parser.add_argument("--sqs-deliveries", type=int, default=500, help="moto's SQS is slow")
    parser.add_argument("--mirror-submissions", type=int, default=100_000)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ["DATABASE_URL"])
    args = parser.parse_args()
    n = args.deliveries

    env = prepare_tenant(args.database_url, "connectors bench")
    lines: list[tuple[str, float, dict]] = []
    with FarEnds(env) as far:
        client = far.client
        body = json.dumps(event_body())

        def measure(destination, floor: float, *extra: str, count: int = n):
            kind = destination.kind
            only_destination(env, args.database_url, kind, kind, destination.config,
                             destination.secret, *extra)  # fmt: skip
            log(f"{kind}: draining {count} deliveries (floor {floor:.0f}/s)")
            lines.append((kind, floor, throughput(args, env, count)))

        measure(far.rest(), http_floor(far.sink_url, n, event_body()))

        # moto's SQS slows down with every message a queue holds (its sends grow with the
        # queue's depth): the floor and FormBridge each get a fresh queue and fewer messages.
        sqs = client("sqs")
        queue = far.sqs("bench-floor").config["queue_url"]
        entries = [{"Id": str(i), "MessageBody": body} for i in range(10)]
        sqs_n = min(n, args.sqs_deliveries)
        floor = threaded_floor(
            sqs_n, lambda: sqs.send_message_batch(QueueUrl=queue, Entries=entries), 10
        )
        measure(far.sqs(), floor, count=sqs_n)

        events = client("events")
        destination = far.eventbridge()
        entries = [{"EventBusName": "bench", "Source": "formbridge", "DetailType": "x",
                    "Detail": body}] * 10  # fmt: skip
        measure(destination, threaded_floor(n, lambda: events.put_events(Entries=entries), 10))

        s3 = client("s3")
        destination = far.s3()
        floor = threaded_floor(
            n, lambda: s3.put_object(Bucket="bench", Key=f"f/{time.perf_counter_ns()}", Body=body,
                                     ServerSideEncryption="AES256")
        )  # fmt: skip
        measure(destination, floor)

        dynamodb = client("dynamodb")
        destination = far.dynamodb()
        floor = threaded_floor(
            n, lambda: dynamodb.put_item(
                TableName="bench-mirror",
                Item={"PK": {"S": f"F#{time.perf_counter_ns()}"}, "SK": {"S": "x"},
                      "payload": {"S": body}},
                ConditionExpression="attribute_not_exists(SK)",
            )
        )  # fmt: skip
        measure(destination, floor)

        slack_body = {"channel": "C0SALES", "text": "x", "blocks": []}
        floor = http_floor(f"{far.slack.base}/api/chat.postMessage", n, slack_body,
                           {"Authorization": f"Bearer {SLACK_TOKEN}"})  # fmt: skip
        measure(far.slack_channel(), floor)

        def send_mail():
            message = EmailMessage()
            message["Subject"], message["From"], message["To"] = "Lead", "a@example.com", "b@x.io"
            message.set_content(body)
            with smtplib.SMTP("127.0.0.1", far.smtp.port) as connection:
                connection.send_message(message)

        measure(far.email(), threaded_floor(n, send_mail, threads=8))

        hubspot_body = {"inputs": [{"idProperty": "email", "id": "jane@example.com",
                                    "properties": {"email": "jane@example.com"}}]}  # fmt: skip
        floor = http_floor(f"{far.hubspot.base}/crm/v3/objects/contacts/batch/upsert", n,
                           hubspot_body, {"Authorization": f"Bearer {HUBSPOT_TOKEN}"})  # fmt: skip
        measure(far.hubspot_contacts(), floor)

        token = httpx.post(f"{far.salesforce.base}/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": SF_CLIENT_ID,
            "client_secret": SF_SECRET}).json()["access_token"]  # fmt: skip
        floor = http_floor(
            f"{far.salesforce.base}/services/data/v62.0/sobjects/Contact/Ext__c/floor", n,
            {"LastName": "Doe"}, {"Authorization": f"Bearer {token}"}, method="PATCH",
        )  # fmt: skip
        measure(far.salesforce_contacts(), floor)

        log("FIFO: the REST destination ordered by a key (10 keys) beside unordered")
        only_destination(env, args.database_url, "fifo", "rest", far.rest().config, "",
                         "--ordered-by", "form_id")  # fmt: skip
        fifo = throughput(args, env, n, ordering_keys=10)
        fifo_100 = throughput(args, env, n, ordering_keys=100)

        log(f"mirror: backfill of {args.mirror_submissions} submissions, then verify")
        mirror = mirror_backfill(args, env, far.moto_url)

    rest = lines[0][2]["per_second"]
    out = ["", f"connector benchmark ({os.cpu_count()} cores, worker concurrency "
           f"{args.worker_concurrency}, {n} deliveries per kind)",
           f"  {'kind':<12}{'floor/s':>9}{'formbridge/s':>14}{'of floor':>10}{'of rest':>9}"
           f"{'worker RSS':>12}"]  # fmt: skip
    for kind, floor, result in lines:
        rate, rss = result["per_second"], result["worker_peak_rss_mb"]
        out.append(f"  {kind:<12}{floor:9.0f}{rate:14.0f}{rate / floor:10.0%}{rate / rest:9.0%}"
                   f"{rss:10.0f} MB  ({result['deliveries']})")  # fmt: skip
    out += [
        f"  FIFO rest, 10 keys   {fifo['per_second']:8.0f} deliveries/s "
        f"({fifo['per_second'] / rest:.0%} of unordered rest)",
        f"  FIFO rest, 100 keys  {fifo_100['per_second']:8.0f} deliveries/s "
        f"({fifo_100['per_second'] / rest:.0%} of unordered rest)",
        f"  mirror backfill      {mirror['items_per_second']:8.0f} items/s with BatchWriteItem "
        f"({mirror['written']} items in {mirror['seconds']:.1f} s)",
        f"  mirror verify        postgres {mirror['postgres']} / dynamodb {mirror['dynamodb']}: "
        f"{'MATCH' if mirror['ok'] else 'DIFFERS'} (sample {mirror['sampled']})",
    ]
    print("\n".join(out))
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"connectors-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json").write_text(
        json.dumps(
            {"kinds": lines, "fifo_10": fifo, "fifo_100": fifo_100, "mirror": mirror},
            indent=2,
            default=float,
        )
    )


def mirror_backfill(args, env: dict, moto_url: str) -> dict:
    count = args.mirror_submissions
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE delivery_deliveryattempt, delivery_delivery, ingest_submission")
        conn.execute("DELETE FROM delivery_mirrorcursor")
        conn.execute("DELETE FROM delivery_destination")
        conn.execute(
            """
            INSERT INTO ingest_submission (id, tenant_id, submission_id, source, form_id,
                event_type, schema_version, submitted_at, received_at, ip, payload, payload_bytes,
                payload_sha256, attachments, requested_destinations, created_at, updated_at)
            SELECT gen_random_uuid(), %(tenant)s, 'm-' || g, 'ingest', 'contact_us', '', '1.0',
                now(), now() - g * interval '1 second', NULL, %(payload)s::jsonb, 100,
                md5(g::text) || md5(g::text), '[]', NULL, now(), now()
            FROM generate_series(1, %(count)s) AS g
            """,
            {"tenant": TENANT, "count": count, "payload": json.dumps(BODY)},
        )
    manage(env, "mirror", "create-table", "--table", "bench-backfill")
    manage(env, "destinations", "add", TENANT, "mirror", "--kind", "dynamodb",
           "--config", json.dumps({"table": "bench-backfill"}))  # fmt: skip
    started = time.perf_counter()
    [result] = json.loads(manage(env, "mirror", "backfill", "--json"))
    seconds = time.perf_counter() - started
    verify = subprocess.run(
        [PYTHON, "manage.py", "mirror", "verify", "--json", "--sample", "500"],
        cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True,
    )  # fmt: skip
    [report] = json.loads(verify.stdout)
    return {"written": result["written"], "seconds": seconds,
            "items_per_second": result["written"] / seconds, **report}  # fmt: skip


if __name__ == "__main__":
    main()
