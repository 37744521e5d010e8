"""Ordered delivery with a real worker: 1,000 events over 10 keys reach a receiver that fails
at random, while the worker is SIGKILLed mid-run. Nothing is lost and each key's events are
delivered in received order; a key whose receiver keeps failing holds up only itself."""

from __future__ import annotations

import json
import random
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis

from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryStatus
from tests.e2e.stack import TEST_BROKER_URL, process_env, start_celery, stop, wait_until
from tests.factories import tenant_with_secret

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
EVENTS = 1000
KEYS = 10


class FlakyReceiver:
    """Answers 503 to a random fifth of requests (and always to `failing` keys); records each
    request's key, sequence number and answer."""

    def __init__(self, *, seed: int = 7, failing: frozenset[str] = frozenset()) -> None:
        self.random = random.Random(seed)
        self.failing = failing
        self.log: list[tuple[str, int, int]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key, n = event["payload"]["key"], event["payload"]["n"]
                with receiver.lock:
                    fail = key in receiver.failing or receiver.random.random() < 0.2
                    status = 503 if fail else 200
                    receiver.log.append((key, n, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.request_queue_size = 256
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def delivered(self) -> dict[str, list[int]]:
        """Per key, the events in the order they were first answered 200."""
        seen: dict[str, list[int]] = {}
        with self.lock:
            for key, n, status in self.log:
                if status == 200 and n not in seen.setdefault(key, []):
                    seen[key].append(n)
        return seen

    def stop(self) -> None:
        self.server.shutdown()


def ordered_destination(tenant, url: str) -> None:
    delivery_services.destination_create(
        tenant=tenant, name="fifo", config={"url": url}, ordering_key="payload.key",
        timeout_seconds=2, connect_timeout_seconds=1, max_concurrency=0,
        retry_schedule=[0.2], max_attempts=50,
    )  # fmt: skip


def test_order_per_key_survives_random_failures_and_a_sigkill(signed, tmp_path, settings):
    settings.DELIVERY_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    redis.Redis.from_url(TEST_BROKER_URL).flushdb()
    receiver = FlakyReceiver()
    acme = tenant_with_secret("t_acme")
    ordered_destination(acme.tenant, receiver.url)
    env = process_env(DELIVERY_LEASE_MARGIN_SECONDS="1", DELIVERY_CIRCUIT_FAILURES="1000000")
    log = tmp_path / "celery.log"
    beat = start_celery("beat", env, log, "--schedule", str(tmp_path / "beat-schedule"))
    worker_args = ("--concurrency", "2", "--without-gossip", "--without-mingle")
    worker = start_celery("worker", env, log, *worker_args)
    try:
        for n in range(EVENTS):
            assert signed.post(acme, {"key": f"k{n % KEYS}", "n": n}).status_code == 202
        wait_until(lambda: len(receiver.log) >= 200, seconds=60, what="the first receipts")
        stop(worker, signal.SIGKILL)
        worker = start_celery("worker", env, log, *worker_args)
        wait_until(
            lambda: Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == EVENTS,
            seconds=300,
            what=lambda: f"every delivery to succeed ({receiver.delivered()!r:.300})",
        )
    finally:
        stop(worker)
        stop(beat)
        receiver.stop()

    delivered = receiver.delivered()
    assert sorted(delivered) == [f"k{k}" for k in range(KEYS)]
    for key, sequence in delivered.items():
        assert sequence == sorted(sequence), f"{key} out of order: {sequence[:20]}"
        assert len(sequence) == EVENTS // KEYS, f"{key} lost events"
    assert any(status == 503 for _, _, status in receiver.log)  # it did fail along the way


def test_a_failing_key_holds_up_only_itself(signed, tmp_path, settings):
    settings.DELIVERY_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    redis.Redis.from_url(TEST_BROKER_URL).flushdb()
    receiver = FlakyReceiver(failing=frozenset({"k0"}))
    receiver.random = random.Random(1)
    receiver.random.random = lambda: 1.0  # no random failures here: only k0 fails
    acme = tenant_with_secret("t_acme")
    ordered_destination(acme.tenant, receiver.url)
    env = process_env(DELIVERY_CIRCUIT_FAILURES="1000000")
    log = tmp_path / "celery.log"
    beat = start_celery("beat", env, log, "--schedule", str(tmp_path / "beat-schedule"))
    worker = start_celery("worker", env, log, "--concurrency", "2", "--without-gossip")
    try:
        for n in range(200):
            assert signed.post(acme, {"key": f"k{n % 4}", "n": n}).status_code == 202
        wait_until(
            lambda: Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 150,
            seconds=120,
            what="the three healthy keys to be delivered",
        )
    finally:
        stop(worker)
        stop(beat)
        receiver.stop()

    delivered = receiver.delivered()
    assert {key: len(seq) for key, seq in delivered.items()} == {"k1": 50, "k2": 50, "k3": 50}
    # k0's head was tried again and again; nothing behind it was ever sent.
    assert {n for key, n, _ in receiver.log if key == "k0"} == {0}
