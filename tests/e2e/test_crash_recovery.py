"""A worker SIGKILLed mid-delivery, and Redis flushed: nothing is lost, nothing succeeds twice."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter

import pytest
import redis
from django.conf import settings as django_settings
from django.db.models import Count, Q

from delivery import services as delivery_services
from delivery.models import AttemptOutcome, Delivery, DeliveryStatus
from tests.e2e.stack import TEST_BROKER_URL, Receiver, process_env, start_celery, stop, wait_until
from tests.factories import tenant_with_secret

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SUBMISSIONS = 40


class SlowReceiver(Receiver):
    """Takes 0.3 s per request, and holds every request after the first three until `release()`:
    the kill then finds deliveries in flight however fast the worker is (it once delivered all 40
    between two polls of the wait below). After the release it answers every request."""

    answered_before_hold = 3

    def start(self):
        super().start()
        # A short backlog as well: connections queue, so many deliveries are in flight at once.
        self.server.socket.listen(5)
        self.gate = threading.Event()
        handler = self.server.RequestHandlerClass
        original = handler.do_POST
        receiver = self

        def slow(handler_self):
            time.sleep(0.3)
            held = not receiver.gate.is_set()
            if held and len(receiver.at("/crm")) >= receiver.answered_before_hold:
                # Held, then dropped unanswered and unrecorded: the sender that made it is dead.
                receiver.gate.wait(30)
                handler_self.close_connection = True
                return
            original(handler_self)

        handler.do_POST = slow
        return self

    def release(self) -> None:
        self.gate.set()


def _state(receiver, worker, log) -> str:
    """What a timed-out wait saw: receipts, delivery states, the worker and its last log lines."""
    statuses = Counter(Delivery.objects.values_list("status", flat=True))
    alive = "running" if worker.poll() is None else f"exited {worker.returncode}"
    tail = log.read_text()[-1500:] if log.exists() else ""
    return f"{len(receiver.at('/crm'))} receipts, {dict(statuses)}, worker {alive}, log: {tail}"


def test_sigkill_and_lost_messages_lose_nothing(signed, tmp_path, settings):
    settings.DELIVERY_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    broker = redis.Redis.from_url(TEST_BROKER_URL)
    broker.flushdb()
    receiver = SlowReceiver().start()
    acme = tenant_with_secret("t_acme")
    delivery_services.destination_create(
        tenant=acme.tenant,
        name="crm",
        config={"url": receiver.url("/crm")},
        timeout_seconds=2,
        connect_timeout_seconds=1,
        max_concurrency=0,
        retry_schedule=[0.5],
        max_attempts=10,
    )
    # Queued connections time out and are retried; the circuit breaker (its own tests) would
    # only add its cool-down to the wait.
    env = process_env(DELIVERY_LEASE_MARGIN_SECONDS="1", DELIVERY_CIRCUIT_FAILURES="1000000")
    log = tmp_path / "celery.log"
    beat = start_celery("beat", env, log, "--schedule", str(tmp_path / "beat-schedule"))
    worker = start_celery(
        "worker", env, log, "--concurrency", "2", "--without-gossip", "--without-mingle"
    )
    try:
        for n in range(SUBMISSIONS):
            assert signed.post(acme, {"n": n}).status_code == 202

        # Kill while sends are in flight: after the first receipts, while the receiver holds the
        # next requests (their leases are held, their outcomes unrecorded).
        wait_until(
            lambda: (
                len(receiver.at("/crm")) >= 3
                and Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT).exists()
            ),
            seconds=60,
            what=lambda: (
                "first receipts with deliveries in flight; " + _state(receiver, worker, log)
            ),
        )
        stop(worker, signal.SIGKILL)  # mid-flight: leases held, outcomes unrecorded
        in_flight_at_kill = Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT).count()
        broker.flushdb()  # every queued wake-up is gone
        redis.Redis.from_url(django_settings.REDIS_URL).flushdb()
        receiver.release()

        worker = start_celery(
            "worker", env, log, "--concurrency", "2", "--without-gossip", "--without-mingle"
        )
        wait_until(
            lambda: Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == SUBMISSIONS,
            seconds=90,
            what="every delivery to succeed after the restart",
        )
    finally:
        stop(worker)
        stop(beat)
        receiver.stop()

    assert in_flight_at_kill > 0, "the kill should have caught deliveries in flight"
    assert Delivery.objects.count() == SUBMISSIONS
    successes = Delivery.objects.annotate(
        wins=Count("attempt_log", filter=Q(attempt_log__outcome=AttemptOutcome.SUCCESS))
    )
    assert sorted({d.wins for d in successes}) == [1], "a delivery recorded two successes"
    receipts = Counter(r.headers["Idempotency-Key"] for r in receiver.at("/crm"))
    assert set(receipts) == {str(d.id) for d in Delivery.objects.all()}
    duplicates = sum(count - 1 for count in receipts.values())
    # At-least-once: only what was in flight when the worker died may arrive twice.
    assert duplicates <= in_flight_at_kill
