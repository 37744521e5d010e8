"""Structured logs: the fields each line carries, the request id, and no secret ever written."""

from __future__ import annotations

import io
import json
import logging

import pytest

from core import logs
from delivery import dispatcher
from delivery import services as delivery_services
from delivery.models import Delivery
from ingest.models import Submission
from tenants.services import api_key_create, tenant_rotate_secret
from tests.signing import signed_headers

pytestmark = pytest.mark.django_db


@pytest.fixture
def captured():
    """Everything logged (DEBUG and up), formatted as in production: JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.Formatter())
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_an_accepted_submission_logs_its_ids_and_the_request_id(client, signed, acme, captured):
    response = signed.post(acme, {"email": "a@example.com"}, **{"X-Request-Id": "lb-trace-42"})

    assert response.status_code == 202
    assert response["X-Request-Id"] == "lb-trace-42"
    [line] = [entry for entry in lines(captured) if entry["message"] == "submission accepted"]
    assert line["level"] == "INFO"
    assert line["logger"] == "ingest.services"
    assert line["tenant_id"] == "t_acme"
    assert line["submission_id"] == response.json()["submission_id"]
    assert line["request_id"] == "lb-trace-42"
    assert "timestamp" in line


def test_a_request_id_is_made_when_none_or_an_unsafe_one_is_given(client):
    plain = client.get("/healthz")
    unsafe = client.get("/healthz", headers={"X-Request-Id": "x\nInjected: yes"})

    assert len(plain["X-Request-Id"]) == 32
    assert len(unsafe["X-Request-Id"]) == 32
    assert plain["X-Request-Id"] != unsafe["X-Request-Id"]


def test_a_refused_request_logs_its_code_and_tenant(signed, acme, captured):
    acme.tenant.is_active = False
    acme.tenant.save()
    from tenants import credentials_cache

    credentials_cache.forget()

    response = signed.post(acme, {"email": "a@example.com"})

    assert response.status_code == 403
    [line] = [entry for entry in lines(captured) if entry["message"] == "request refused"]
    assert (line["code"], line["status"]) == ("tenant_disabled", 403)
    assert line["request_id"] == response["X-Request-Id"]


def test_a_failed_delivery_logs_tenant_submission_destination_and_delivery(
    signed, acme, receiver, captured
):
    destination = delivery_services.destination_create(
        tenant=acme.tenant, name="crm", config={"url": receiver.url("/down")}
    ).destination
    receiver.set("/down", [503])
    response = signed.post(acme, {"email": "a@example.com"})

    dispatcher.drain()

    [line] = [entry for entry in lines(captured) if entry["message"] == "delivery attempt failed"]
    delivery = Delivery.objects.get()
    assert line["tenant_id"] == "t_acme"
    assert line["submission_id"] == response.json()["submission_id"]
    assert line["destination_id"] == str(destination.id)
    assert line["delivery_id"] == str(delivery.id)
    assert (line["attempt"], line["status_code"]) == (1, 503)


def test_no_secret_or_signature_ever_reaches_the_logs(client, signed, acme, receiver, captured):
    # Given every kind of credential FormBridge handles, each used on a logged path
    rotated = tenant_rotate_secret(tenant=acme.tenant)
    api_key = api_key_create(tenant=acme.tenant, scopes=["ingest", "read"]).key
    created = delivery_services.destination_create(
        tenant=acme.tenant,
        name="crm",
        config={"url": receiver.url("/echo")},
        auth_mode="bearer",
        auth_secret="bearer-token-abcdef123456",
        generate_signing_secret=True,
    )
    # A receiver that echoes what it got: its reply is stored and the failure is logged.
    receiver.set("/echo", [500])
    body = b'{"email": "a@example.com"}'
    headers = signed_headers(tenant_id="t_acme", secret=rotated, body=body)
    client.post("/v1/ingest", data=body, content_type="application/json", headers=headers)
    bad = signed_headers(tenant_id="t_acme", secret="not-the-secret-00", body=body)
    client.post("/v1/ingest", data=body, content_type="application/json", headers=bad)
    client.post(
        "/v1/events",
        data=b'{"event_type": "x"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    client.get("/v1/submissions", headers={"Authorization": f"Bearer {api_key}x"})
    logging.getLogger("test").info(
        "an accident", extra={"authorization": f"Bearer {api_key}", "note": f"key {api_key}"}
    )
    dispatcher.drain()
    assert Submission.objects.count() == 2

    # Then none of them appears anywhere in what was written
    written = captured.getvalue()
    assert "an accident" in written and "delivery attempt failed" in written
    secrets = [
        acme.signing_secret,
        rotated,
        api_key,
        "bearer-token-abcdef123456",
        created.signing_secret,
        headers["X-Signature"],
        bad["X-Signature"],
    ]
    for secret in secrets:
        assert secret not in written, secret
    assert created.signing_secret.removeprefix("whsec_") not in written


def test_scrub_redacts_known_shapes_and_secret_named_fields():
    assert logs.scrub("key fb_live_abcdefgh12345678 used") == "key [redacted] used"
    assert logs.scrub({"password": "hunter2", "n": 1}) == {"password": "[redacted]", "n": 1}
    assert logs.scrub({"headers": {"X-Signature": "ab"}}) == {
        "headers": {"X-Signature": "[redacted]"}
    }
    assert logs.scrub("sig " + "a" * 64) == "sig [redacted]"
    assert logs.scrub("tenant t_acme") == "tenant t_acme"
