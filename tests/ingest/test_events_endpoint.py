"""POST /v1/events: API-key events with the response shape the README documents."""

from __future__ import annotations

import json
import time

import pytest

from ingest.models import Submission
from tenants import services
from tenants.models import ApiKey, Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_key(acme):
    return services.api_key_create(tenant=acme.tenant, name="crm", scopes=["ingest", "read"])


def post_event(client, body, key: str | None, **headers):
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/v1/events", raw, content_type="application/json", headers=headers)


def assert_rejected(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert Submission.objects.count() == 0


def test_event_is_accepted_with_the_seed_response_shape(client, acme_key):
    before_ms = int(time.time() * 1000)
    event = {"event_type": "customer.created", "customer_id": "123", "email": "alice@example.com"}

    response = post_event(client, event, acme_key.key)

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"event_id", "received_at", "status"}
    assert body["status"] == "accepted"
    assert before_ms - 5 <= body["received_at"] <= int(time.time() * 1000) + 5
    row = Submission.objects.get()
    assert row.submission_id == body["event_id"]
    assert row.tenant_id == "t_acme"
    assert (row.source, row.event_type) == ("api", "customer.created")
    assert row.payload == event


def test_each_tenant_stores_its_own_events(client, acme_key, globex):
    globex_key = services.api_key_create(tenant=globex.tenant, scopes=["ingest"])

    post_event(client, {"event_type": "customer.created", "foo": "bar"}, acme_key.key)
    post_event(client, {"event_type": "invoice.paid", "amount": 3200}, globex_key.key)

    rows = dict(Submission.objects.values_list("tenant_id", "event_type"))
    assert rows == {"t_acme": "customer.created", "t_globex": "invoice.paid"}


def test_idempotency_key_makes_a_retry_a_duplicate(client, acme_key):
    first = post_event(client, {"n": 1}, acme_key.key, **{"Idempotency-Key": "order-42"})
    retry = post_event(client, {"n": 1}, acme_key.key, **{"Idempotency-Key": "order-42"})

    assert first.status_code == 202
    assert first.json()["event_id"] == "order-42"
    assert retry.status_code == 200
    assert retry.json() == {**first.json(), "status": "duplicate"}
    assert Submission.objects.count() == 1


def test_last_used_at_is_recorded(client, acme_key):
    assert acme_key.api_key.last_used_at is None

    post_event(client, {"n": 1}, acme_key.key)

    acme_key.api_key.refresh_from_db()
    assert acme_key.api_key.last_used_at is not None


def test_missing_key(client, acme_key):
    assert_rejected(post_event(client, {"n": 1}, None), 401, "missing_api_key")


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Token fb_live_x"])
def test_malformed_authorization(client, acme_key, header):
    response = client.post(
        "/v1/events", b"{}", content_type="application/json", headers={"Authorization": header}
    )
    assert_rejected(response, 401, "missing_api_key")


def test_unknown_key(client, acme_key):
    assert_rejected(post_event(client, {"n": 1}, "fb_live_" + "x" * 40), 401, "invalid_api_key")


def test_revoked_key_fails_at_once(client, acme_key):
    assert post_event(client, {"n": 1}, acme_key.key).status_code == 202

    services.api_key_revoke(prefix=acme_key.api_key.prefix)
    response = post_event(client, {"n": 2}, acme_key.key)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert Submission.objects.count() == 1


def test_key_without_ingest_scope(client, acme):
    read_only = services.api_key_create(tenant=acme.tenant, scopes=["read"])

    response = post_event(client, {"n": 1}, read_only.key)

    assert_rejected(response, 403, "insufficient_scope")
    assert "ingest" in response.json()["error"]["message"]


def test_disabled_tenant(client, acme_key):
    Tenant.objects.filter(pk="t_acme").update(is_active=False)

    assert_rejected(post_event(client, {"n": 1}, acme_key.key), 403, "tenant_disabled")


@pytest.mark.parametrize(
    ("raw", "code"),
    [(b"{oops", "invalid_json"), (b"[1]", "invalid_payload"), (b'"x"', "invalid_payload")],
)
def test_bad_bodies(client, acme_key, raw, code):
    assert_rejected(post_event(client, raw, acme_key.key), 400, code)


def test_an_idempotency_key_reused_for_another_body_is_a_conflict(client, acme_key):
    """Stripe's rule: the same key with a different request is an error, never a silent
    duplicate that drops the second order (issue 29)."""
    post_event(client, {"order_id": 43}, acme_key.key, **{"Idempotency-Key": "k-1"})

    reused = post_event(client, {"order_id": 99999}, acme_key.key, **{"Idempotency-Key": "k-1"})

    assert reused.status_code == 409, reused.content
    assert reused.json()["error"]["code"] == "idempotency_conflict"
    assert reused.json()["submission_id"] == "k-1"
    assert [s.payload for s in Submission.objects.all()] == [{"order_id": 43}]


def test_bad_idempotency_key(client, acme_key):
    response = post_event(client, {"n": 1}, acme_key.key, **{"Idempotency-Key": "two words"})

    assert_rejected(response, 400, "invalid_payload")


def test_oversized_event(client, acme_key):
    Tenant.objects.filter(pk="t_acme").update(max_payload_bytes=100)

    assert_rejected(post_event(client, {"a": "x" * 200}, acme_key.key), 413, "payload_too_large")


def test_unsupported_media_type(client, acme_key):
    response = client.post(
        "/v1/events",
        b"<xml/>",
        content_type="application/xml",
        headers={"Authorization": f"Bearer {acme_key.key}"},
    )
    assert_rejected(response, 415, "unsupported_media_type")


def test_key_is_looked_up_by_hash_only(acme_key):
    stored = ApiKey.objects.get()
    assert acme_key.key not in json.dumps(
        {f.name: str(getattr(stored, f.attname)) for f in ApiKey._meta.concrete_fields}
    )
