"""The delivery engine against PostgreSQL and a real local HTTP receiver (no worker process)."""

from __future__ import annotations

import base64
import json
import socket
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from delivery import dispatcher, engine
from delivery import services as delivery_services
from delivery.models import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus, Destination
from ingest.models import Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_destination(acme, receiver):
    def make(name="crm", path="/hook", **fields):
        fields.setdefault("config", {"url": receiver.url(path)})
        return delivery_services.destination_create(tenant=acme.tenant, name=name, **fields)

    return make


EMAIL = {"email": "jane@example.com"}


def only(model, **filters):
    return model.objects.get(**filters)


def test_drain_sends_and_records_the_attempt(signed, acme, receiver, make_destination):
    make_destination(auth_mode="bearer", auth_secret="s3cr3t-token")
    receiver.set("/hook", [(200, {"X-Receiver": "yes"}, b"x" * 5000)])
    signed.submit(acme, payload=EMAIL)

    assert dispatcher.drain() == 1

    delivery = only(Delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert delivery.delivered_at is not None
    attempt = only(DeliveryAttempt)
    assert (attempt.number, attempt.outcome, attempt.response_status) == (1, "success", 200)
    assert attempt.request_headers["Authorization"] == "[redacted]"
    assert attempt.request_url == receiver.url("/hook")
    assert attempt.response_headers["x-receiver"] == "yes"
    assert attempt.response_body == "x" * 1024  # cut to 1 KiB
    [seen] = receiver.at("/hook")
    assert seen.headers["Authorization"] == "Bearer s3cr3t-token"
    assert seen.event["payload"] == {"n": 0, "email": "jane@example.com"}


def test_permanent_4xx_is_dead_at_once(signed, acme, receiver, make_destination):
    make_destination()
    receiver.set("/hook", [400])
    signed.submit(acme, payload=EMAIL)

    dispatcher.drain()

    delivery = only(Delivery)
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.last_error == "permanent failure: HTTP 400"
    assert only(Destination).enabled


def test_410_kills_the_delivery_and_disables_the_destination(
    signed, acme, receiver, make_destination
):
    make_destination()
    receiver.set("/hook", [410])
    signed.submit(acme, payload=EMAIL)

    dispatcher.drain()

    destination = only(Destination)
    assert only(Delivery).status == DeliveryStatus.DEAD
    assert not destination.enabled
    assert destination.disabled_reason == "the receiver answered 410 Gone"
    signed.submit(acme, payload=EMAIL)  # a disabled destination gets no new deliveries
    assert Delivery.objects.count() == 1


def test_retry_after_is_honoured(signed, acme, receiver, make_destination):
    make_destination()
    receiver.set("/hook", [(429, {"Retry-After": "120"}, b"")])
    signed.submit(acme, payload=EMAIL)
    before = timezone.now()

    dispatcher.drain()

    delivery = only(Delivery)
    assert delivery.status == DeliveryStatus.RETRYING
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 119 <= wait <= 122


def test_redirects_are_not_followed(signed, acme, receiver, make_destination):
    make_destination()
    receiver.set("/hook", [(302, {"Location": receiver.url("/elsewhere")}, b"")])
    signed.submit(acme, payload=EMAIL)

    dispatcher.drain()

    assert only(Delivery).status == DeliveryStatus.DEAD
    assert receiver.at("/elsewhere") == []


def test_mapping_shapes_the_body(signed, acme, receiver, make_destination):
    make_destination(
        config={
            "url": receiver.url("/hook"),
            "mapping": {"email": "payload.email", "id": "submission_id"},
        }
    )
    signed.submit(acme, payload=EMAIL, submission_id="lead-7")

    dispatcher.drain()

    assert receiver.at("/hook")[0].event == {"email": "jane@example.com", "id": "lead-7"}


@pytest.mark.parametrize(
    ("mode", "auth_config", "header", "expected"),
    [
        ("api_key_header", {"header": "X-Api-Key"}, "X-Api-Key", "k-123"),
        (
            "basic",
            {"username": "crm"},
            "Authorization",
            "Basic " + base64.b64encode(b"crm:k-123").decode(),
        ),
    ],
)
def test_auth_modes(signed, acme, receiver, make_destination, mode, auth_config, header, expected):
    make_destination(auth_mode=mode, auth_config=auth_config, auth_secret="k-123")
    signed.submit(acme, payload=EMAIL)

    dispatcher.drain()

    assert receiver.at("/hook")[0].headers[header] == expected
    assert only(DeliveryAttempt).request_headers[header] == "[redacted]"


def test_oauth2_token_is_fetched_once_and_cached(signed, acme, receiver, make_destination):
    from delivery.connectors.registry import connector_for

    connector_for("rest").tokens.clear()
    receiver.set(
        "/token", [(200, {}, json.dumps({"access_token": "tok-1", "expires_in": 3600}).encode())]
    )
    make_destination(
        auth_mode="oauth2_client_credentials",
        auth_config={"token_url": receiver.url("/token"), "client_id": "app", "scope": "leads"},
        auth_secret="client-secret",
    )
    signed.submit(acme, payload=EMAIL, n=3)

    dispatcher.drain()

    assert [r.headers["Authorization"] for r in receiver.at("/hook")] == ["Bearer tok-1"] * 3
    [token_request] = receiver.at("/token")
    assert b"grant_type=client_credentials" in token_request.body
    assert b"client_secret=client-secret" in token_request.body


def test_max_concurrency_limits_a_claim(signed, acme, make_destination):
    make_destination(max_concurrency=2)
    signed.submit(acme, payload=EMAIL, n=5)

    first = engine.deliveries_claim(limit=50)
    second = engine.deliveries_claim(limit=50)

    assert len(first) == 2
    assert second == []  # two in flight already
    assert Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT).count() == 2


def test_rate_limit_per_second(signed, acme, make_destination):
    make_destination(rate_limit_per_second=3, max_concurrency=0)
    signed.submit(acme, payload=EMAIL, n=5)

    assert len(engine.deliveries_claim(limit=50)) == 3


def test_claims_never_overlap_and_expired_leases_come_back(signed, acme, make_destination):
    make_destination(max_concurrency=0)
    signed.submit(acme, payload=EMAIL, n=4)

    first = {c.job.delivery_id for c in engine.deliveries_claim(limit=3)}
    second = {c.job.delivery_id for c in engine.deliveries_claim(limit=3)}
    assert len(first) == 3
    assert len(second) == 1
    assert not first & second
    assert engine.deliveries_claim(limit=3) == []

    Delivery.objects.filter(id__in=first).update(lease_until=timezone.now() - timedelta(seconds=1))

    assert {c.job.delivery_id for c in engine.deliveries_claim(limit=10)} == first


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_a_claim_reads_the_due_index_in_order_and_stops_however_large_the_backlog(
    signed, acme, make_destination
):
    """It used to sort every due row (with expired leases OR-ed in) to take a batch: at a
    46,000-row backlog each claim took 0.6 s (make bench-scale). Expired leases are now made
    due first, and the due rows are read in (next_attempt_at, created_at) order, then stop."""
    make_destination(max_concurrency=0)
    signed.submit(acme, payload=EMAIL, n=30)
    with transaction.atomic(), connection.cursor() as cursor:
        due = engine._due_rows(timezone.now()).values_list(*engine._CLAIM_COLUMNS)[:10]
        sql, params = due.query.sql_with_params()
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be read whole
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Scan using delivery_due" in plan, plan
    assert "Sort" not in plan, plan


def test_a_lost_lease_keeps_the_attempt_but_not_the_state(signed, acme, receiver, make_destination):
    make_destination()
    signed.submit(acme, payload=EMAIL)
    [stale] = engine.deliveries_claim(limit=1)
    Delivery.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    [fresh] = engine.deliveries_claim(limit=1)

    engine.deliveries_record(dispatcher.send_batch([fresh]))
    engine.deliveries_record(dispatcher.send_batch([stale]))

    delivery = only(Delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 1)
    assert DeliveryAttempt.objects.count() == 2  # both really happened


def test_circuit_breaker_opens_then_lets_one_probe_through(
    signed, acme, receiver, make_destination, settings
):
    settings.DELIVERY_CIRCUIT_FAILURES = 3
    make_destination(max_concurrency=0)
    receiver.set("/hook", [503])
    signed.submit(acme, payload=EMAIL, n=4)

    dispatcher.drain()  # four failures in one batch open the circuit

    destination = only(Destination)
    assert destination.consecutive_failures == 4
    assert destination.circuit_open_until > timezone.now()
    # Retries falling due while it is open are parked until it closes, not sent.
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert engine.deliveries_claim(limit=50) == []
    assert all(d.next_attempt_at == destination.circuit_open_until for d in Delivery.objects.all())
    assert len(receiver.at("/hook")) == 4

    # The cool-down passes: exactly one probe, and its success closes the circuit.
    Destination.objects.update(circuit_open_until=timezone.now() - timedelta(seconds=1))
    Delivery.objects.update(next_attempt_at=timezone.now())
    receiver.set("/hook", [200])
    probe = engine.deliveries_claim(limit=50)
    assert len(probe) == 1
    assert engine.deliveries_claim(limit=50) == []  # no second probe while one is out
    engine.deliveries_record(dispatcher.send_batch(probe))
    destination.refresh_from_db()
    assert (destination.consecutive_failures, destination.circuit_open_until) == (0, None)
    Delivery.objects.filter(status="retrying").update(next_attempt_at=timezone.now())
    assert dispatcher.drain() == 3


def test_failing_for_days_disables_with_a_reason(signed, acme, receiver, make_destination):
    make_destination()
    Destination.objects.update(
        failing_since=timezone.now() - timedelta(days=5, minutes=1), consecutive_failures=3
    )
    receiver.set("/hook", [500])
    signed.submit(acme, payload=EMAIL)

    dispatcher.drain()

    destination = only(Destination)
    assert not destination.enabled
    assert "without a success" in destination.disabled_reason


def test_disabled_destination_parks_deliveries_until_enabled(
    signed, acme, receiver, make_destination
):
    created = make_destination()
    signed.submit(acme, payload=EMAIL, n=2)
    Destination.objects.update(enabled=False)

    assert dispatcher.drain() == 0
    assert list(Delivery.objects.values_list("next_attempt_at", flat=True)) == [None, None]

    delivery_services.destination_set_enabled(destination=created.destination, enabled=True)
    assert dispatcher.drain() == 2
    assert len(receiver.at("/hook")) == 2


def test_dns_rebinding_is_caught_at_send_time(
    signed, acme, make_destination, settings, monkeypatch
):
    settings.DELIVERY_ALLOWED_NETWORKS = []
    answers = {"value": "93.184.215.14"}
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", (answers["value"], 80))]
    )
    make_destination(config={"url": "http://rebind.example/hook"})
    signed.submit(acme, payload=EMAIL)
    answers["value"] = "10.0.0.7"  # the name now points inside

    dispatcher.drain()

    delivery = only(Delivery)
    assert delivery.status == DeliveryStatus.DEAD
    assert "10.0.0.7" in delivery.last_error
    assert only(DeliveryAttempt).outcome == AttemptOutcome.PERMANENT


def test_replay_creates_deliveries_for_a_destination_added_later(
    signed, acme, receiver, make_destination
):
    signed.submit(acme, payload=EMAIL, n=3)
    signed.submit(acme, payload=EMAIL, source="other")
    assert Delivery.objects.count() == 0
    created = make_destination(filter={"source": ["ingest"]})

    dry = delivery_services.deliveries_replay(
        tenant=acme.tenant, destination=created.destination, dry_run=True
    )
    result = delivery_services.deliveries_replay(
        tenant=acme.tenant, destination=created.destination
    )
    dispatcher.drain()

    assert (dry.created, dry.dry_run, result.created) == (3, True, 3)
    assert Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 3
    assert Submission.objects.count() == 4


def test_the_lease_outlasts_the_whole_batch(signed, acme, make_destination, settings):
    settings.DELIVERY_HTTP_CONCURRENCY = 8
    settings.DELIVERY_LEASE_MARGIN_SECONDS = 30
    make_destination(max_concurrency=0, timeout_seconds=10, connect_timeout_seconds=2)
    signed.submit(acme, payload=EMAIL, n=20)
    before = timezone.now()

    claimed = engine.deliveries_claim(limit=50)

    # 20 deliveries over 8 threads is 3 rounds of at most 12 s each, plus the margin.
    assert len(claimed) == 20
    lease = (Delivery.objects.first().lease_until - before).total_seconds()
    assert 3 * 12 + 30 - 1 <= lease <= 3 * 12 + 30 + 1
