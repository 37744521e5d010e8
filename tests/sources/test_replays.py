"""Every preset over HTTP: a request signed as its provider signs is stored once; the same request
again (a provider's retry, or a replay of captured bytes) is a duplicate that stores nothing;
the same bytes with a byte changed, or signed with another secret, are refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest

from ingest.models import Submission
from sources import credentials
from tests.conftest import assert_error

SECRETS = {
    "stripe": "whsec_replay_test_secret",
    "github": "gh-replay-secret",
    "shopify": "shpss_replay_secret",
    "slack": "8f742231b10e8888abcd99yyyzzz85a5",
    "standard-webhooks": "whsec_" + base64.b64encode(b"replay-test-key-0123456789abcdef").decode(),
    "twilio": "twilio-auth-token-replay",
    "typeform": "typeform-replay-secret",
    "generic-hmac": "generic-replay-secret",
}


def _mac(secret: bytes | str, message: str | bytes, digest=hashlib.sha256) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(key, data, digest).digest()


def signed_request(preset: str, secret: str, url: str) -> tuple[str, str, dict[str, str]]:
    """(body, content type, headers) as the provider would send one event."""
    t = str(int(time.time()))
    if preset == "twilio":
        params = {"MessageSid": "SM1", "From": "+15550100", "Body": "Hi"}
        signed = url + "".join(f"{k}{params[k]}" for k in sorted(params))
        signature = base64.b64encode(_mac(secret, signed, hashlib.sha1)).decode()
        return (
            urlencode(params),
            "application/x-www-form-urlencoded",
            {"X-Twilio-Signature": signature},
        )
    body = json.dumps(
        {
            "id": "evt_1",
            "event_id": "Ev1",
            "type": "invoice.paid",
            "event_type": "form_response",
            "event": {"type": "message"},
        }
    )
    headers = {
        "stripe": lambda: {"Stripe-Signature": f"t={t},v1={_mac(secret, f'{t}.{body}').hex()}"},
        "github": lambda: {
            "X-Hub-Signature-256": "sha256=" + _mac(secret, body).hex(),
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "X-GitHub-Event": "push",
        },
        "shopify": lambda: {
            "X-Shopify-Hmac-Sha256": base64.b64encode(_mac(secret, body)).decode(),
            "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            "X-Shopify-Topic": "orders/create",
        },
        "slack": lambda: {
            "X-Slack-Request-Timestamp": t,
            "X-Slack-Signature": "v0=" + _mac(secret, f"v0:{t}:{body}").hex(),
        },
        "standard-webhooks": lambda: {
            "webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
            "webhook-timestamp": t,
            "webhook-signature": "v1,"
            + base64.b64encode(
                _mac(
                    base64.b64decode(secret.split("_", 1)[1]),
                    f"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W.{t}.{body}",
                )
            ).decode(),
        },
        "typeform": lambda: {
            "Typeform-Signature": "sha256=" + base64.b64encode(_mac(secret, body)).decode()
        },
        "generic-hmac": lambda: {"X-Signature": _mac(secret, body).hex()},
    }[preset]()
    return body, "application/json", headers


@pytest.fixture(autouse=True)
def _fresh_credentials():
    credentials.forget()
    yield
    credentials.forget()


@pytest.mark.parametrize("preset", sorted(SECRETS))
def test_a_replayed_request_is_a_duplicate_and_a_tampered_one_is_refused(
    preset, acme, api, client, settings
):
    settings.PUBLIC_URL = "https://hooks.example.com"  # the URL Twilio signs
    admin = api(acme, scopes=["admin"])
    created = admin.post(
        "/v1/sources", {"name": "src", "preset": preset, "secret": SECRETS[preset]}
    ).json()
    path = "/v1/sources/" + created["url"].rsplit("/", 1)[1]
    body, content_type, headers = signed_request(preset, SECRETS[preset], created["url"])

    def send(data: str, with_headers: dict[str, str]):
        return client.post(path, data=data, content_type=content_type, headers=with_headers)

    first = send(body, headers)
    replayed = send(body, headers)
    tampered = send(body.replace("1", "2", 1), headers)
    _, _, foreign = signed_request(preset, SECRETS[preset][:-1] + "x", created["url"])

    assert first.status_code == 202, first.content
    assert replayed.status_code == 200 and replayed.json()["status"] == "duplicate"
    assert replayed.json()["submission_id"] == first.json()["submission_id"]
    assert_error(tampered, 401, "invalid_signature")
    assert_error(send(body, foreign), 401, "invalid_signature")
    assert Submission.objects.count() == 1
    assert Submission.objects.get().source == preset
    # A type inside the signed body (Stripe's, Slack's, Typeform's) is not marked unverified.
    expected = "event_type" if preset in ("github", "shopify") else ""
    assert Submission.objects.get().unverified_fields == expected


# Headers a provider sends beside its signature, which the signature does not cover.
UNSIGNED_NAMING = {
    "github": {"X-GitHub-Delivery": "00000000-0000-0000-0000-00000000000{n}",
               "X-GitHub-Event": "deployment{n}"},
    "shopify": {"X-Shopify-Webhook-Id": "00000000-0000-0000-0000-00000000000{n}",
                "X-Shopify-Topic": "refunds/create{n}"},
    "twilio": {"I-Twilio-Idempotency-Token": "token-{n}"},
}  # fmt: skip


@pytest.mark.parametrize("preset", sorted(UNSIGNED_NAMING))
def test_captured_bytes_under_new_id_and_type_headers_are_the_same_event(
    preset, acme, api, client, settings
):
    """The review's replay: one captured signed body, sent again with a new delivery id and
    event type, was stored again each time and routed as the chosen type (issue 27)."""
    settings.PUBLIC_URL = "https://hooks.example.com"
    created = (
        api(acme, scopes=["admin"])
        .post("/v1/sources", {"name": "src", "preset": preset, "secret": SECRETS[preset]})
        .json()
    )
    path = "/v1/sources/" + created["url"].rsplit("/", 1)[1]
    body, content_type, headers = signed_request(preset, SECRETS[preset], created["url"])

    answers = [
        client.post(path, data=body, content_type=content_type, headers={
            **headers, **{k: v.format(n=n) for k, v in UNSIGNED_NAMING[preset].items()},
        })
        for n in range(3)
    ]  # fmt: skip

    assert [a.status_code for a in answers] == [202, 200, 200]
    assert {a.json()["submission_id"] for a in answers} == {answers[0].json()["submission_id"]}
    stored = Submission.objects.get()
    # Routed as the first request said, never as a replay's header chose; and recorded as what
    # no signature covered.
    assert stored.event_type == {"github": "deployment0", "shopify": "refunds/create0"}.get(
        preset, ""
    )
    assert stored.unverified_fields == ("" if preset == "twilio" else "event_type")


def test_generic_hmac_refuses_id_and_type_headers_no_signature_covers(acme, api):
    admin = api(acme, scopes=["admin"])
    for option in ("id_header", "type_header"):
        response = admin.post("/v1/sources", {
            "name": "g", "preset": "generic-hmac", "secret": SECRETS["generic-hmac"],
            "config": {option: "X-Event-Id"},
        })  # fmt: skip
        body = assert_error(response, 400, "invalid_request")
        assert f"config.{option}" in body["error"]["fields"]


@pytest.mark.parametrize("preset", ["github", "typeform", "shopify", "generic-hmac"])
def test_a_secret_the_receiver_chooses_must_be_strong(preset, acme, api):
    response = api(acme, scopes=["admin"]).post(
        "/v1/sources", {"name": "weak", "preset": preset, "secret": "x"}
    )
    body = assert_error(response, 400, "weak_secret")
    assert "secret" in body["error"]["fields"]
