"""/metrics (Prometheus exposition, values moving with real traffic) and /readyz."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from delivery import dispatcher
from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryStatus
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample as {(name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_ingest_requests_are_counted_by_endpoint_and_status_and_timed(client, signed, acme):
    before = scrape(client)

    assert signed.post(acme, {"email": "a@example.com"}).status_code == 202
    assert (
        signed.post(acme, {"email": "b@example.com"}, secret="wrong-secret-000").status_code == 401
    )

    after = scrape(client)
    accepted = ("formbridge_ingest_requests_total", {"endpoint": "ingest", "status": "202"})
    refused = ("formbridge_ingest_requests_total", {"endpoint": "ingest", "status": "401"})
    assert value(after, accepted[0], **accepted[1]) == value(before, accepted[0], **accepted[1]) + 1
    assert value(after, refused[0], **refused[1]) == value(before, refused[0], **refused[1]) + 1
    count = "formbridge_ingest_request_duration_seconds_count"
    assert value(after, count, endpoint="ingest") == value(before, count, endpoint="ingest") + 2
    # Buckets are cumulative: +Inf holds both, and a bucket below 1 ms holds neither here.
    bucket = "formbridge_ingest_request_duration_seconds_bucket"
    assert (
        value(after, bucket, endpoint="ingest", le="+Inf")
        - value(before, bucket, endpoint="ingest", le="+Inf")
        == 2
    )


def test_deliveries_by_outcome_attempt_latency_and_backlog(client, signed, acme, receiver):
    delivery_services.destination_create(
        tenant=acme.tenant, name="crm", config={"url": receiver.url("/ok")}
    )
    delivery_services.destination_create(
        tenant=acme.tenant, name="broken", config={"url": receiver.url("/gone")}
    )
    receiver.set("/gone", [400])
    before = scrape(client)

    assert signed.post(acme, {"email": "a@example.com"}).status_code == 202
    queued = scrape(client)
    assert value(queued, "formbridge_deliveries_due") == 2
    dispatcher.drain()

    after = scrape(client)
    succeeded = {"kind": "rest", "outcome": "succeeded"}
    dead = {"kind": "rest", "outcome": "dead"}
    name = "formbridge_deliveries_total"
    assert value(after, name, **succeeded) == value(before, name, **succeeded) + 1
    assert value(after, name, **dead) == value(before, name, **dead) + 1
    count = "formbridge_delivery_attempt_duration_seconds_count"
    assert value(after, count, kind="rest") == value(before, count, kind="rest") + 2
    assert value(after, "formbridge_deliveries_due") == 0
    assert value(after, "formbridge_deliveries_dead") == 1
    assert value(after, "formbridge_oldest_due_delivery_age_seconds") == 0


def test_oldest_due_delivery_age(client, signed, acme, receiver):
    delivery_services.destination_create(
        tenant=acme.tenant, name="crm", config={"url": receiver.url("/ok")}
    )
    assert signed.post(acme, {"email": "a@example.com"}).status_code == 202
    Delivery.objects.update(
        status=DeliveryStatus.RETRYING, next_attempt_at=timezone.now() - timedelta(minutes=5)
    )

    age = value(scrape(client), "formbridge_oldest_due_delivery_age_seconds")

    assert 299 <= age <= 330


def test_metrics_token_when_configured(client, settings):
    settings.METRICS_TOKEN = "scrape-me-please"

    assert_error(client.get("/metrics"), 401, "invalid_metrics_token")
    assert_error(
        client.get("/metrics", headers={"Authorization": "Bearer nope"}),
        401,
        "invalid_metrics_token",
    )
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    assert ok.status_code == 200
    assert b"formbridge_deliveries_due" in ok.content


def test_healthz_and_readyz_when_all_is_up(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}


@pytest.fixture
def database_down():
    """Point this process's connection at a port where nothing listens (a real refusal)."""
    connection.close()
    real_port = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = "1"
    yield
    connection.close()
    connection.settings_dict["PORT"] = real_port


def test_readyz_fails_when_the_database_is_down(client, database_down):
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["error"]["code"] == "not_ready"
    assert body["error"]["message"].startswith("database: OperationalError")
    assert client.get("/healthz").status_code == 200  # the process itself is fine


def test_readyz_fails_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get("/readyz")

    assert response.status_code == 503
    assert "broker: ConnectionError" in response.json()["error"]["message"]


@pytest.mark.django_db(transaction=True)
def test_ingest_answers_503_and_stores_nothing_while_the_database_is_down(client, signed, acme):
    from ingest.models import Submission

    connection.close()
    real_port = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = "1"
    try:
        # The tenant's secret is cached by the earlier request path, or fetched and failing:
        # either way the answer must be a clear 503, never a 202.
        response = signed.post(acme, {"email": "a@example.com"})
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port

    body = assert_error(response, 503, "database_unavailable")
    assert "nothing was stored" in body["error"]["message"]
    assert response["Retry-After"] == "5"
    assert Submission.objects.count() == 0
    assert signed.post(acme, {"email": "a@example.com"}).status_code == 202  # recovers by itself


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_mid_store_is_unconfirmed_and_the_same_request_settles_it(
    client, signed, acme
):
    from django.db import OperationalError

    from ingest.models import Submission

    def commit_then_lose_the_answer(execute, sql, params, many, context):
        result = execute(sql, params, many, context)  # the statement commits...
        if "ingest_submission" in sql and sql.lstrip().upper().startswith("WITH"):
            raise OperationalError("server closed the connection unexpectedly")  # ...unheard
        return result

    body = {"submission_id": "lead-1", "payload": {"email": "a@example.com"}}
    with connection.execute_wrapper(commit_then_lose_the_answer):
        response = signed.post(acme, body)
    again = signed.post(acme, body)

    error = assert_error(response, 503, "storage_unconfirmed")["error"]
    assert "may or may not be stored" in error["message"]
    assert response["Retry-After"] == "5"
    assert Submission.objects.filter(submission_id="lead-1").count() == 1  # it was, in fact
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
