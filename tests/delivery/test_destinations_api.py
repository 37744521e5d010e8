"""/v1/destinations: create, list, retrieve, update, delete, test; secrets write-only."""

from __future__ import annotations

import json

import pytest

from core import crypto
from delivery import dispatcher
from delivery.models import Delivery, DeliveryStatus, Destination
from tests.conftest import assert_error
from tests.e2e.stack import verify_standard_webhook


@pytest.fixture
def admin(acme, api):
    return api(acme, scopes=["admin"])


def create(admin, receiver, **fields):
    body = {"name": "crm", "url": receiver.url("/hook"), **fields}
    response = admin.post("/v1/destinations", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_create_with_a_generated_secret_shown_once(signed, acme, admin, receiver):
    created = create(
        admin,
        receiver,
        generate_signing_secret=True,
        auth_mode="bearer",
        auth_secret="crm-token-123",
        filter={"form_id": "contact_*"},
        retry_schedule=[1, 5],
        max_attempts=3,
    )

    assert created["signing_secret"].startswith("whsec_")
    assert (created["signed"], created["has_auth_secret"]) == (True, True)
    assert created["config"]["url"] == receiver.url("/hook")
    assert created["filter"] == {"form_id": ["contact_*"]}
    assert "auth_secret" not in created
    fetched = admin.get("/v1/destinations/crm").json()
    listed = admin.get("/v1/destinations").json()
    for shown in (fetched, listed):
        assert "whsec_" not in json.dumps(shown)
        assert "crm-token-123" not in json.dumps(shown)
    stored = Destination.objects.get(name="crm")
    assert crypto.decrypt(stored.auth_secret_encrypted) == "crm-token-123"
    assert "crm-token-123" not in stored.auth_secret_encrypted
    # and it works: a matching submission arrives signed, with the bearer token
    assert signed.post(acme, {"form_id": "contact_us", "payload": {"a": 1}}).status_code == 202
    dispatcher.drain()
    [received] = receiver.at("/hook")
    assert verify_standard_webhook(created["signing_secret"], received)
    assert received.headers["Authorization"] == "Bearer crm-token-123"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://169.254.169.254/latest/meta-data"}, "config.url"),
        ({"url": "http://10.0.0.5/hook"}, "config.url"),
        ({"url": "gopher://example.com"}, "config.url"),
        ({"mapping_bad": True, "config": {"mapping": "payload.[["}}, "config.mapping"),
        ({"config": {"method": "DELETE"}}, "config.method"),
        ({"config": {"headers": {"Bad Name": "x"}}}, "config.headers"),
        ({"auth_mode": "basic", "auth_secret": "pw"}, "auth_config"),
        ({"auth_mode": "bearer"}, "auth_secret"),
        ({"signing_secret": "not-whsec"}, "signing_secret"),
        ({"name": "Bad Name!"}, "name"),
        ({"retry_schedule": [999999999]}, "retry_schedule"),
        ({"max_concurrency": -1}, "max_concurrency"),
    ],
)
def test_invalid_destinations_are_refused_and_not_stored(admin, receiver, body, field):
    body = {"name": "crm", "url": receiver.url("/hook"), **body}
    body.pop("mapping_bad", None)
    if "config" in body and "url" not in body["config"]:
        body["config"]["url"] = body.pop("url")

    response = admin.post("/v1/destinations", body)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] in ("invalid_destination", "invalid_request")
    assert list(error["fields"]) == [field], error
    assert not Destination.objects.filter(name__in=["crm", "Bad Name!"]).exists()


def test_a_taken_name_is_refused(admin, receiver):
    create(admin, receiver)
    response = admin.post("/v1/destinations", {"name": "crm", "url": receiver.url("/x")})
    assert_error(response, 400, "invalid_destination")
    assert Destination.objects.filter(name="crm").count() == 1


def test_update_changes_only_what_is_given_and_keeps_secrets(admin, receiver):
    create(admin, receiver, auth_mode="bearer", auth_secret="keep-me", max_attempts=4)

    response = admin.patch(
        "/v1/destinations/crm", {"url": receiver.url("/new"), "timeout_seconds": 7}
    )

    assert response.status_code == 200, response.content
    stored = Destination.objects.get(name="crm")
    assert stored.config["url"] == receiver.url("/new")
    assert (stored.timeout_seconds, stored.max_attempts) == (7.0, 4)
    assert crypto.decrypt(stored.auth_secret_encrypted) == "keep-me"
    assert_error(
        admin.patch("/v1/destinations/crm", {"url": "http://192.168.1.1/"}),
        400,
        "invalid_destination",
    )
    assert Destination.objects.get(name="crm").config["url"] == receiver.url("/new")


def test_update_rotates_and_removes_the_signing_secret(admin, receiver):
    create(admin, receiver, generate_signing_secret=True)

    rotated = admin.patch("/v1/destinations/crm", {"generate_signing_secret": True}).json()
    removed = admin.patch("/v1/destinations/crm", {"signing_secret": ""}).json()

    assert rotated["signing_secret"].startswith("whsec_")
    assert removed["signed"] is False
    assert Destination.objects.get(name="crm").signing_secret_encrypted == ""


def test_disable_and_enable(admin, receiver):
    create(admin, receiver)

    disabled = admin.patch("/v1/destinations/crm", {"enabled": False}).json()
    enabled = admin.patch("/v1/destinations/crm", {"enabled": True}).json()

    assert disabled["enabled"] is False
    assert disabled["health"]["disabled_reason"] == "disabled by an operator"
    assert enabled["enabled"] is True
    assert enabled["health"]["disabled_reason"] == ""


def test_delete_cancels_open_deliveries_keeps_history_and_frees_the_name(
    signed, acme, admin, receiver
):
    create(admin, receiver)
    receiver.set("/hook", [500])
    signed.post(acme, {"payload": {"a": 1}})
    dispatcher.drain()  # one failed attempt, now retrying

    response = admin.delete("/v1/destinations/crm")

    assert response.status_code == 204
    assert_error(admin.get("/v1/destinations/crm"), 404, "not_found")
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.CANCELLED
    assert delivery.attempt_log.count() == 1
    assert create(admin, receiver)["name"] == "crm"
    assert Destination.objects.filter(name="crm").count() == 2


def test_the_test_endpoint_returns_the_attempt(admin, receiver):
    create(admin, receiver)
    receiver.set("/hook", [(202, {"X-Seen": "1"}, b'{"ok":true}')])

    result = admin.post("/v1/destinations/crm/test").json()

    assert (result["outcome"], result["status_code"]) == ("success", 202)
    assert result["response_body"] == '{"ok":true}'
    assert result["response_headers"]["x-seen"] == "1"
    assert receiver.at("/hook")[0].event["event_type"] == "formbridge.test"
    assert Delivery.objects.count() == 0


def test_admin_scope_is_required(acme, api, receiver):
    reader = api(acme, scopes=["read", "inbox", "ingest"])
    assert_error(reader.get("/v1/destinations"), 403, "insufficient_scope")
    assert_error(
        reader.post("/v1/destinations", {"name": "x", "url": receiver.url("/")}),
        403,
        "insufficient_scope",
    )
    assert not Destination.objects.exists()
