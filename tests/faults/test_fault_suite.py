"""The fault suite (`make test-faults`): the real stack under steady signed ingest while things
break on purpose, then a ledger that must balance.

Stack: gunicorn (2 workers), a Celery worker and beat, PostgreSQL behind a proxy the test can
cut, a Redis of the suite's own (so it can be killed and restarted without touching anyone
else's), and a local receiver whose behaviour changes mid-run. Faults: the worker SIGKILLed
mid-delivery (three times), Redis killed and restarted empty (every queued wake-up lost),
PostgreSQL unreachable for a few seconds, and a destination that times out, answers 500,
answers 429 with Retry-After, resets connections and flaps.

Ledger: every 202 is stored; nothing answered otherwise is stored; every delivery ends
succeeded or dead with its attempts; every stored submission reached the healthy destinations;
duplicate receipts are counted and each is explained by a fault (an attempt cut off before it
was recorded, or a timeout the receiver answered anyway); every dead letter is to the
destination that always fails.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field

import httpx
import pytest
from django.db import connection
from django.db.models import Count

from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryAttempt, DeliveryStatus
from ingest.models import Submission
from tests.e2e.stack import start_celery, stop, wait_until
from tests.factories import tenant_with_secret
from tests.faults.proxy import CuttableProxy
from tests.faults.stack import OwnRedis, Supervised, free_port, start_web
from tests.signing import sign

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
LOAD_PER_SECOND = 15
WORKER_KILLS = 3


@dataclass
class Load:
    """Signed POST /v1/ingest at a steady rate, each with its own submission_id."""

    url: str
    secret: str
    answers: dict[str, int | str] = field(default_factory=dict)
    codes: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    running: threading.Event = field(default_factory=threading.Event)

    @staticmethod
    def body(n: int) -> bytes:
        return json.dumps(
            {"submission_id": f"load-{n}", "form_id": "contact", "payload": {"n": n}}
        ).encode()

    def send(self, client: httpx.Client, body: bytes) -> httpx.Response:
        timestamp = f"{time.time():.6f}"
        headers = {
            "Content-Type": "application/json",
            "X-Tenant-Id": "t_faults",
            "X-Timestamp": timestamp,
            "X-Signature": sign(self.secret, timestamp, body),
        }
        return client.post(self.url, content=body, headers=headers)

    def settle_unknown(self) -> dict[str, int]:
        """What a client does with an unknown outcome: send the same submission again. Its
        submission_id makes that safe: 200 duplicate if it was stored, 202 if it was not."""
        settled = {}
        with httpx.Client(timeout=10) as client:
            for submission_id, status in self.answers.items():
                if isinstance(status, str):
                    n = int(submission_id.split("-", 1)[1])
                    settled[submission_id] = self.send(client, self.body(n)).status_code
        return settled

    def run(self) -> None:
        self.running.set()
        n = 0
        with httpx.Client(timeout=10) as client:
            next_at = time.monotonic()
            while self.running.is_set():
                n += 1
                submission_id = f"load-{n}"
                started = time.monotonic()
                try:
                    response = self.send(client, self.body(n))
                    self.answers[submission_id] = response.status_code
                    if response.status_code >= 400:
                        try:
                            code = response.json()["error"]["code"]
                        except (ValueError, KeyError):
                            code = f"unstructured {response.status_code}"
                        self.codes[code] += 1
                        if code == "storage_unconfirmed":  # may be stored: not a refusal
                            self.answers[submission_id] = code
                except httpx.HTTPError as exc:
                    self.answers[submission_id] = type(exc).__name__  # outcome unknown
                self.latencies.append(time.monotonic() - started)
                next_at += 1 / LOAD_PER_SECOND
                time.sleep(max(0.0, next_at - time.monotonic()))


@pytest.fixture
def redis_server(tmp_path):
    server = OwnRedis(tmp_path).start()
    yield server
    server.kill()


@pytest.fixture
def proxy():
    cuttable = CuttableProxy(("127.0.0.1", 5432)).start()
    yield cuttable
    cuttable.stop()


def test_faults_lose_nothing(tmp_path, settings, receiver, redis_server, proxy):
    # Given the whole stack, with a destination of each kind of behaviour
    settings.DELIVERY_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    created = tenant_with_secret("t_faults")
    receiver.set("/steady", [200])
    receiver.set("/chaos", [200])
    receiver.set("/doomed", [500])
    fast = {"timeout_seconds": 1.0, "connect_timeout_seconds": 0.5}
    for name, schedule, attempts in (
        ("steady", [0.5, 1, 1, 2], 20),
        ("chaos", [0.5, 1, 1, 2, 2, 3, 3], 40),
        ("doomed", [0.2, 0.2], 3),
    ):
        delivery_services.destination_create(
            tenant=created.tenant,
            name=name,
            config={"url": receiver.url(f"/{name}")},
            retry_schedule=schedule,
            max_attempts=attempts,
            max_concurrency=0,
            **fast,
        )
    database = connection.settings_dict
    user = database["USER"] or "postgres"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{user}@127.0.0.1:{proxy.port}/{database['NAME']}",
        "REDIS_URL": redis_server.url(0),
        "CELERY_BROKER_URL": redis_server.url(1),
        "DELIVERY_ALLOWED_NETWORKS": "127.0.0.0/8",
        "DELIVERY_LEASE_MARGIN_SECONDS": "2",
        # With its circuit breaker, an always-failing destination gets one probe per cool-down,
        # so its backlog would take hours to spend its retries; the breaker has its own tests.
        "DELIVERY_CIRCUIT_FAILURES": "1000000",
        "TENANT_CACHE_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    log = tmp_path / "celery.log"
    web_port = free_port()
    worker_args = ("--concurrency", "2", "--without-gossip", "--without-mingle")
    load = Load(f"http://127.0.0.1:{web_port}/v1/ingest", created.signing_secret)
    loader = threading.Thread(target=load.run, daemon=True)
    kills = 0
    running = ExitStack()  # stops whatever was started, even if a start fails
    try:
        web = start_web(env, web_port)
        running.callback(stop, web)
        worker = Supervised(lambda: start_celery("worker", env, log, *worker_args))
        running.callback(worker.stop)
        beat = Supervised(
            lambda: start_celery("beat", env, log, "--schedule", str(tmp_path / "beat-schedule"))
        )
        running.callback(beat.stop)
        # When everything breaks, one thing after another, under steady load
        loader.start()

        def kill_worker() -> None:
            nonlocal kills
            worker.kill()  # mid-delivery: the load keeps it busy
            kills += 1

        def chaos(*steps):
            return lambda: receiver.set("/chaos", list(steps))

        def restart_redis() -> None:
            redis_server.kill()  # every queued wake-up and every counter is gone
            time.sleep(1)
            redis_server.start()

        timeline = [
            (4, chaos(500)),
            (6, kill_worker),
            (8, chaos((429, {"Retry-After": "1"}, b"slow down"))),
            (12, chaos(("slow", 1.5))),  # past the 1 s timeout
            (14, kill_worker),
            (16, chaos("reset")),
            (20, chaos(*([200, 500] * 500))),  # flapping
            (22, kill_worker),
            (24, chaos(200)),
            (27, restart_redis),
            (31, proxy.down),  # PostgreSQL unreachable for 4 s
            (35, proxy.up),
            (41, lambda: None),
        ]
        started = time.monotonic()
        for at, action in timeline:
            time.sleep(max(0.0, started + at - time.monotonic()))
            action()
        load.running.clear()
        loader.join(timeout=15)
        settled_unknown = load.settle_unknown()

        # Then, once the stack has caught up, the ledger balances
        def settled() -> bool:
            open_ones = Delivery.objects.exclude(
                status__in=(DeliveryStatus.SUCCEEDED, DeliveryStatus.DEAD)
            )
            return not open_ones.exists()

        def progress() -> str:
            counts = Delivery.objects.values_list("destination__name", "status").annotate(
                n=Count("id")
            )
            return f"every delivery to finish: {sorted(counts)}; {log.read_text()[-1500:]}"

        wait_until(settled, seconds=120, what=progress)
    finally:
        load.running.clear()
        running.close()

    accepted = {s for s, status in load.answers.items() if status == 202}
    refused = {s for s, status in load.answers.items() if isinstance(status, int) and status != 202}
    unknown = {s for s, status in load.answers.items() if isinstance(status, str)}
    stored = set(
        Submission.objects.filter(tenant_id="t_faults").values_list("submission_id", flat=True)
    )
    report = {
        "requests": len(load.answers),
        "accepted": len(accepted),
        "refused": dict(load.codes),
        "unknown_outcome": len(unknown),
        "worker_kills": kills,
        # Celery's worker may exit after a broker loss (a kombu reconnection bug); the
        # supervisor, like the container's restart policy, starts it again.
        "unplanned_restarts": {
            "worker": worker.unplanned_restarts,
            "beat": beat.unplanned_restarts,
        },
    }

    assert len(accepted) > LOAD_PER_SECOND * 20, report
    assert accepted <= stored, f"lost: {sorted(accepted - stored)[:10]}"  # zero lost
    assert not (refused & stored), f"refused yet stored: {sorted(refused & stored)[:10]}"
    assert stored <= accepted | unknown
    assert load.codes["database_unavailable"] > 0, report  # the outage was seen, as a clean 503
    assert set(load.codes) <= {"database_unavailable", "storage_unconfirmed"}, report
    # Sent again, every unknown outcome settled: a duplicate of what was stored, or stored now.
    report["unknown_settled"] = dict(Counter(settled_unknown.values()))
    assert set(settled_unknown.values()) <= {200, 202}, report
    assert set(settled_unknown) <= stored, report

    deliveries = Delivery.objects.filter(tenant_id="t_faults").select_related("destination")
    assert deliveries.count() == 3 * len(stored)
    by_destination = defaultdict(Counter)
    for delivery in deliveries:
        by_destination[delivery.destination.name][delivery.status] += 1
    report["deliveries"] = {name: dict(counts) for name, counts in by_destination.items()}
    assert by_destination["steady"] == Counter({"succeeded": len(stored)}), report
    assert by_destination["chaos"] == Counter({"succeeded": len(stored)}), report
    # Every dead letter is traceable to the injected failure: the destination that always fails.
    assert by_destination["doomed"] == Counter({"dead": len(stored)}), report
    assert (
        not DeliveryAttempt.objects.filter(delivery__in=deliveries)
        .filter(delivery__status="dead", outcome="success")
        .exists()
    )

    # Every stored submission reached each healthy destination; duplicates are explained.
    receipts = defaultdict(list)
    for received in receiver.requests:
        receipts[
            (received.path.strip("/"), received.headers.get("X-FormBridge-Submission-Id"))
        ].append(received)
    attempts = defaultdict(list)
    for attempt in DeliveryAttempt.objects.filter(tenant_id="t_faults").select_related(
        "delivery__destination", "delivery__submission"
    ):
        attempts[
            (attempt.delivery.destination.name, attempt.delivery.submission.submission_id)
        ].append(attempt)
    duplicates = unexplained = 0
    for name in ("steady", "chaos"):
        for submission_id in stored:
            got = receipts[(name, submission_id)]
            answered_ok = [r for r in got if r.answered and 200 <= r.answered < 300]
            assert answered_ok, f"{name} never received {submission_id}"
            extra = len(answered_ok) - 1
            recorded = attempts[(name, submission_id)]
            cut_off = max(0, len(got) - len(recorded))  # sent, but the attempt was never recorded
            timed_out = sum(
                1
                for a in recorded
                if "timed out" in a.error.lower() or "timeout" in a.error.lower()
            )
            duplicates += extra
            unexplained += max(0, extra - cut_off - timed_out)
    report["duplicate_receipts"] = duplicates
    print("fault suite ledger:", json.dumps(report))
    assert unexplained == 0, report
