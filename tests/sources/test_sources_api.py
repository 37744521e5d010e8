"""Sources end to end through HTTP: created by API key, posted to by a provider at their URL,
verified, stored once, routed by provider and event type; every refusal stores nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from delivery import services as delivery_services
from delivery.models import Delivery
from ingest.models import Submission
from sources import credentials
from sources.models import Source, SourceSecret
from tests.conftest import assert_error

STRIPE_SECRET = "whsec_stripe_endpoint_secret_1"


@pytest.fixture(autouse=True)
def _fresh_source_credentials():
    credentials.forget()
    yield
    credentials.forget()


@pytest.fixture
def admin(acme, api):
    return api(acme, scopes=["admin"])


def create(admin, **body):
    response = admin.post("/v1/sources", body)
    assert response.status_code == 201, response.content
    return response.json()


def stripe_post(
    client,
    url,
    event_id="evt_1",
    event_type="invoice.paid",
    secret=STRIPE_SECRET,
    at=None,
    body=None,
):
    body = body or json.dumps({"id": event_id, "type": event_type, "data": {"object": {}}})
    t = str(int(at if at is not None else time.time()))
    signature = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return client.post(
        url,
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": f"t={t},v1={signature}"},
    )


def test_create_returns_an_absolute_url_and_never_the_secret(acme, admin):
    created = create(admin, name="stripe-live", preset="stripe", secret=STRIPE_SECRET)

    assert created["url"].startswith("http://testserver/v1/sources/src_")
    assert (created["name"], created["preset"], created["enabled"]) == (
        "stripe-live",
        "stripe",
        True,
    )
    assert "secret" not in created
    for shown in (admin.get("/v1/sources").json(), admin.get("/v1/sources/stripe-live").json()):
        assert STRIPE_SECRET not in json.dumps(shown)
    stored = SourceSecret.objects.get(source__name="stripe-live")
    assert STRIPE_SECRET not in stored.secret_encrypted  # encrypted at rest


def test_a_provider_post_is_stored_once_and_routed_by_event_type(acme, admin, client, receiver):
    delivery_services.destination_create(
        tenant=acme.tenant,
        name="billing",
        url=receiver.url("/billing"),
        filter={"source": ["stripe"], "event_type": ["invoice.*"]},
    )
    delivery_services.destination_create(
        tenant=acme.tenant,
        name="pushes",
        url=receiver.url("/push"),
        filter={"event_type": ["push"]},
    )
    url = create(admin, name="stripe-live", preset="stripe", secret=STRIPE_SECRET)["url"]

    first = stripe_post(client, url, event_id="evt_1NG8")
    retry = stripe_post(client, url, event_id="evt_1NG8")  # Stripe's retry: new t, same event

    assert first.status_code == 202, first.content
    assert first.json() == {"submission_id": "stripe-live:evt_1NG8", "status": "accepted"}
    assert retry.status_code == 200
    assert retry.json()["status"] == "duplicate"
    submission = Submission.objects.get(tenant=acme.tenant)
    assert (submission.source, submission.form_id, submission.event_type) == (
        "stripe",
        "stripe-live",
        "invoice.paid",
    )
    assert submission.payload["id"] == "evt_1NG8"
    routed = Delivery.objects.filter(submission=submission).values_list(
        "destination__name", flat=True
    )
    assert list(routed) == ["billing"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"secret": "whsec_not_the_one"}, "invalid_signature"),
        ({"at": time.time() - 301}, "stale_timestamp"),
    ],
)
def test_refusals_store_nothing(acme, admin, client, change, code):
    url = create(admin, name="stripe-live", preset="stripe", secret=STRIPE_SECRET)["url"]

    assert_error(stripe_post(client, url, **change), 401, code)
    assert not Submission.objects.exists()


def test_a_tampered_body_and_a_replay_store_nothing_new(acme, admin, client):
    url = create(admin, name="stripe-live", preset="stripe", secret=STRIPE_SECRET)["url"]
    body = json.dumps({"id": "evt_2", "type": "charge.succeeded"})
    t = str(int(time.time()))
    signature = hmac.new(STRIPE_SECRET.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"Stripe-Signature": f"t={t},v1={signature}"}

    stored = client.post(url, data=body, content_type="application/json", headers=headers)
    replayed = client.post(url, data=body, content_type="application/json", headers=headers)
    tampered = client.post(
        url,
        data=body.replace("succeeded", "refunded"),
        content_type="application/json",
        headers=headers,
    )

    assert stored.status_code == 202
    assert replayed.json()["status"] == "duplicate"
    assert_error(tampered, 401, "invalid_signature")
    assert Submission.objects.count() == 1


def test_unknown_disabled_and_deleted_sources_are_not_found(acme, admin, client):
    url = create(admin, name="stripe-live", preset="stripe", secret=STRIPE_SECRET)["url"]

    assert_error(stripe_post(client, url.rsplit("/", 1)[0] + "/src_unknown"), 404, "not_found")
    assert admin.patch("/v1/sources/stripe-live", {"enabled": False}).status_code == 200
    assert_error(stripe_post(client, url), 404, "not_found")
    assert admin.patch("/v1/sources/stripe-live", {"enabled": True}).status_code == 200
    assert stripe_post(client, url).status_code == 202
    assert admin.delete("/v1/sources/stripe-live").status_code == 204
    assert_error(stripe_post(client, url, event_id="evt_later"), 404, "not_found")
    assert_error(admin.get("/v1/sources/stripe-live"), 404, "not_found")


def test_rotation_overlaps_and_a_generated_secret_is_shown_once(acme, admin, client):
    created = create(admin, name="svix", preset="standard-webhooks")
    url, first_secret = created["url"], created["secret"]
    assert first_secret.startswith("whsec_")
    assert "secret" not in admin.get("/v1/sources/svix").json()

    rotated = admin.post("/v1/sources/svix/rotate-secret", {"overlap_hours": 1})
    assert rotated.status_code == 200, rotated.content
    second_secret = rotated.json()["secret"]

    for n, secret in enumerate((first_secret, second_secret)):
        key = base64.b64decode(secret.removeprefix("whsec_"))
        body = json.dumps({"type": "user.created", "data": {"n": n}})
        t = str(int(time.time()))
        digest = hmac.new(key, f"msg_{n}.{t}.".encode() + body.encode(), hashlib.sha256).digest()
        headers = {
            "webhook-id": f"msg_{n}",
            "webhook-timestamp": t,
            "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        }
        response = client.post(url, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 202, response.content
    assert sorted(Submission.objects.values_list("event_type", "submission_id")) == [
        ("user.created", "svix:msg_0"),
        ("user.created", "svix:msg_1"),
    ]


def test_slack_url_verification_is_answered_and_not_stored(acme, admin, client):
    url = create(admin, name="slack", preset="slack", secret="slack-signing-secret")["url"]
    body = json.dumps(
        {
            "type": "url_verification",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        }
    )
    t = str(int(time.time()))
    signature = (
        "v0="
        + hmac.new(b"slack-signing-secret", f"v0:{t}:{body}".encode(), hashlib.sha256).hexdigest()
    )

    response = client.post(
        url,
        data=body,
        content_type="application/json",
        headers={"X-Slack-Request-Timestamp": t, "X-Slack-Signature": signature},
    )

    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert not Submission.objects.exists()


def test_twilio_is_verified_over_the_url_it_called(acme, admin, client, settings):
    settings.PUBLIC_URL = "https://hooks.example.com"
    url = create(admin, name="sms", preset="twilio", secret="twilio-auth-token")["url"]
    assert url.startswith("https://hooks.example.com/v1/sources/src_")
    form = {"MessageSid": "SM1", "From": "+15551234567", "Body": "STOP", "SmsStatus": "received"}
    signed = url + "".join(f"{k}{form[k]}" for k in sorted(form))
    signature = base64.b64encode(
        hmac.new(b"twilio-auth-token", signed.encode(), hashlib.sha1).digest()
    ).decode()
    path = url.removeprefix("https://hooks.example.com")

    response = client.post(
        path,
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )

    assert response.status_code == 202, response.content
    submission = Submission.objects.get()
    assert (submission.source, submission.event_type, submission.payload["Body"]) == (
        "twilio",
        "received",
        "STOP",
    )


def test_errors_name_their_field_and_keys_stay_in_their_tenant(acme, globex, admin, api):
    assert_error(
        admin.post("/v1/sources", {"name": "x", "preset": "carrier-pigeon"}), 400, "invalid_request"
    )
    missing_secret = assert_error(
        admin.post("/v1/sources", {"name": "x", "preset": "stripe"}), 400, "invalid_request"
    )
    assert "secret" in missing_secret["error"]["fields"]
    bad_option = admin.post(
        "/v1/sources",
        {"name": "x", "preset": "generic-hmac", "secret": "s", "config": {"algorithm": "md5"}},
    )
    assert "config.algorithm" in assert_error(bad_option, 400, "invalid_request")["error"]["fields"]
    create(admin, name="stripe-live", preset="stripe", secret=STRIPE_SECRET)
    assert_error(
        admin.post("/v1/sources", {"name": "stripe-live", "preset": "stripe", "secret": "s"}),
        400,
        "invalid_request",
    )

    other = api(globex, scopes=["admin"])
    assert other.get("/v1/sources").json() == []
    assert_error(other.get("/v1/sources/stripe-live"), 404, "not_found")
    assert_error(api(acme, scopes=["read"]).get("/v1/sources"), 403, "insufficient_scope")
    assert Source.objects.count() == 1


def test_the_command_prints_the_api_object(acme, capsys):
    def run(*args):
        call_command("sources", *args, "--json")
        return json.loads(capsys.readouterr().out)

    added = run("add", "t_acme", "gh", "--preset", "github", "--secret", "gh-secret-0123456789")
    rotated = run("rotate-secret", "t_acme", "gh", "--secret", "gh-secret-2-0123456789")
    disabled = run("disable", "t_acme", "gh")
    listed = run("list", "t_acme")

    assert added["url"].startswith("http://127.0.0.1:8000/v1/sources/src_")
    assert set(added) == {"name", "preset", "url", "config", "enabled", "created_at", "updated_at"}
    assert "gh-secret" not in json.dumps([added, rotated, disabled, listed])
    assert SourceSecret.objects.filter(source__name="gh").count() == 2
    assert disabled["enabled"] is False
    assert [s["name"] for s in listed] == ["gh"]
