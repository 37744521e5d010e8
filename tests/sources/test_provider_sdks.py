"""Each preset against its provider's own library (issue 29): the request is signed by the SDK
the provider publishes (stripe, standardwebhooks, svix, slack_sdk, twilio from PyPI, pinned in
pyproject's dev extra), sent as the provider sends it, and stored once; the provider's retry is
a duplicate. A test of our signing code would only prove we agree with ourselves.

GitHub's signer and Shopify's verifier are Node packages (@octokit/webhooks-methods,
@shopify/shopify-api, installed by `make` into tests/sources/js), run with the machine's Node.js.
Shopify publishes no signer: the request is signed as its documentation says, Shopify's own
package must accept it (both header spellings), and then FormBridge must too."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from ingest.models import Submission
from sources import credentials

pytestmark = pytest.mark.django_db
PUBLIC_URL = "https://hooks.example.com"


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.PUBLIC_URL = PUBLIC_URL  # the URL Twilio signs
    credentials.forget()
    yield
    credentials.forget()


def source(api, acme, preset: str, secret: str) -> tuple[str, str]:
    """A source of this preset; (its path, its full URL as the provider calls it)."""
    created = api(acme, scopes=["admin"]).post(
        "/v1/sources", {"name": "src", "preset": preset, "secret": secret}
    )
    assert created.status_code == 201, created.content
    url = created.json()["url"]
    return "/v1/sources/" + url.rsplit("/", 1)[1], url


def twice(client, path: str, body: bytes, content_type: str, headers: dict[str, str]):
    first = client.post(path, data=body, content_type=content_type, headers=headers)
    again = client.post(path, data=body, content_type=content_type, headers=headers)
    return first, again


def assert_stored_once(first, again, *, payload=None) -> Submission:
    assert first.status_code == 202, first.content
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    stored = Submission.objects.get()
    if payload is not None:
        assert stored.payload == payload
    return stored


def test_stripe_signed_by_stripe_python(client, acme, api):
    import stripe

    secret = "whsec_" + "s" * 32
    path, _ = source(api, acme, "stripe", secret)
    body = json.dumps({"id": "evt_1", "type": "invoice.paid", "data": {"object": {}}})
    t = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{t}.{body}", secret)
    # stripe's own verifier accepts what is sent (the header is what Stripe sends).
    header = f"t={t},v1={signature}"
    stripe.Webhook.construct_event(body, header, secret)

    first, again = twice(client, path, body.encode(), "application/json",
                         {"Stripe-Signature": header})  # fmt: skip

    assert assert_stored_once(first, again).event_type == "invoice.paid"


@pytest.mark.parametrize("spelling", ["webhook", "svix"])
def test_svix_signed_by_the_svix_sdk_in_either_header_spelling(client, acme, api, spelling):
    """Svix, Clerk and Resend send svix-* by default; webhook-* is the white-label spelling."""
    from svix.webhooks import Webhook

    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    path, _ = source(api, acme, "standard-webhooks", secret)
    body = json.dumps({"type": "user.created", "data": {"id": "user_1"}})
    now = datetime.now(UTC)
    signature = Webhook(secret).sign("msg_1", now, body)
    headers = {f"{spelling}-id": "msg_1", f"{spelling}-timestamp": str(int(now.timestamp())),
               f"{spelling}-signature": signature}  # fmt: skip
    Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})

    first, again = twice(client, path, body.encode(), "application/json", headers)

    stored = assert_stored_once(first, again)
    assert (stored.submission_id, stored.event_type) == ("src:msg_1", "user.created")


def test_standard_webhooks_signed_by_the_reference_library(client, acme, api):
    from standardwebhooks.webhooks import Webhook

    secret = "whsec_" + base64.b64encode(b"r" * 32).decode()
    path, _ = source(api, acme, "standard-webhooks", secret)
    body = json.dumps({"type": "invoice.paid", "data": {}})
    now = datetime.now(UTC)
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(secret).sign("msg_2", now, body)}  # fmt: skip

    first, again = twice(client, path, body.encode(), "application/json", headers)

    assert assert_stored_once(first, again).submission_id == "src:msg_2"


def test_slack_signed_by_slack_sdk(client, acme, api):
    from slack_sdk.signature import SignatureVerifier

    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    path, _ = source(api, acme, "slack", secret)
    body = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {"type": "message"}})
    t = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=t, body=body)

    headers = {"X-Slack-Request-Timestamp": t, "X-Slack-Signature": signature}
    first, again = twice(client, path, body.encode(), "application/json", headers)

    assert assert_stored_once(first, again).submission_id == "src:Ev1"


def test_twilio_repeated_parameters_signed_by_the_twilio_validator(client, acme, api):
    """Two MediaUrl values: Twilio's validator sorts a name's values; arrival order differs."""
    from twilio.request_validator import RequestValidator

    token = "twilio-auth-token-0123456789abcdef"
    path, url = source(api, acme, "twilio", token)
    pairs = [("MessageSid", "SM1"), ("From", "+15550100"), ("MediaUrl", "https://m/2.jpg"),
             ("MediaUrl", "https://m/1.jpg"), ("NumMedia", "2")]  # fmt: skip
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)

    class MultiDict(dict):
        def getall(self, name):
            return self[name]

    signature = RequestValidator(token).compute_signature(url, MultiDict(params))
    assert RequestValidator(token).validate(url, MultiDict(params), signature)

    first, again = twice(client, path, urlencode(pairs).encode(),
                         "application/x-www-form-urlencoded",
                         {"X-Twilio-Signature": signature})  # fmt: skip

    stored = assert_stored_once(first, again)
    assert stored.payload["MediaUrl"] == ["https://m/2.jpg", "https://m/1.jpg"]


def test_twilio_hmac_sha256_shared_key_mode(client, acme, api):
    from twilio.request_validator import HMAC_SHA256, RequestValidator

    shared_key = "webhooks-shared-key-secret-0123456789"
    path, url = source(api, acme, "twilio", shared_key)
    params = {"CallSid": "CA1", "CallStatus": "completed"}
    signature = RequestValidator(shared_key).compute_signature(url, params, HMAC_SHA256)
    settings_header = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"

    first, again = twice(client, path, urlencode(params).encode(),
                         "application/x-www-form-urlencoded",
                         {"X-Twilio-Signature": signature,
                          "X-Twilio-Webhooks-Signature-Settings": settings_header})  # fmt: skip

    assert assert_stored_once(first, again).event_type == "completed"
    unknown = client.post(
        path, data=urlencode(params), content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature,
                 "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_MD5"},
    )  # fmt: skip
    assert unknown.status_code == 401


def test_shopify_newer_header_spelling(client, acme, api):
    """@shopify/shopify-api reads Shopify-Hmac-Sha256 (no X-) as Shopify now sends it."""
    secret = "shpss_" + "a" * 32
    path, _ = source(api, acme, "shopify", secret)
    body = json.dumps({"id": 820982911946154500, "email": "jon@example.com"})
    digest = base64.b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    headers = {"Shopify-Hmac-Sha256": digest.decode(), "Shopify-Topic": "orders/create",
               "Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"}  # fmt: skip

    first, again = twice(client, path, body.encode(), "application/json", headers)

    assert assert_stored_once(first, again).event_type == "orders/create"


def test_github_form_encoded_hook_stores_the_event_not_its_wrapper(client, acme, api):
    secret = "a-github-webhook-secret-0123"
    path, _ = source(api, acme, "github", secret)
    event = {"ref": "refs/heads/main", "after": "abc"}
    body = urlencode({"payload": json.dumps(event)}).encode()
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    first, again = twice(client, path, body, "application/x-www-form-urlencoded",
                         {"X-Hub-Signature-256": f"sha256={mac}", "X-GitHub-Event": "push",
                          "X-GitHub-Delivery": "d-1"})  # fmt: skip

    assert_stored_once(first, again, payload=event)


JS = Path(__file__).resolve().parent / "js"


def test_github_signed_by_octokit(client, acme, api):
    """GitHub's own package signs (and verifies) the body; FormBridge accepts it once."""
    if shutil.which("node") is None or not (JS / "node_modules" / "@octokit").exists():
        pytest.skip("Node.js and tests/sources/js/node_modules are needed: run `make install`")
    secret = "a-github-webhook-secret-0123"
    path, _ = source(api, acme, "github", secret)
    body = json.dumps({"action": "opened", "issue": {"number": 7}})
    signed = subprocess.run(
        ["node", str(JS / "sign-github.mjs"), secret, body],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    answer = json.loads(signed.stdout)
    assert answer["verified"] is True

    first, again = twice(client, path, body.encode(), "application/json", {
        "X-Hub-Signature-256": answer["signature"], "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    })  # fmt: skip

    assert assert_stored_once(first, again).event_type == "issues"


def node_packages_or_skip() -> None:
    if shutil.which("node") is None or not (JS / "node_modules" / "@shopify").exists():
        pytest.skip("Node.js and tests/sources/js/node_modules are needed: run `make install`")


def shopify_package_accepts(secret: str, body: str, headers: dict[str, str]) -> dict:
    judged = subprocess.run(
        ["node", str(JS / "shopify-validate.mjs")],
        input=json.dumps({"secret": secret, "body": body, "headers": headers}),
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(judged.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("prefix", ["X-Shopify-", "Shopify-"])
def test_shopify_what_shopifys_package_accepts_formbridge_accepts(client, acme, api, prefix):
    node_packages_or_skip()
    secret = "shpss_" + "b" * 32
    path, _ = source(api, acme, "shopify", secret)
    body = json.dumps({"id": 820982911946154508, "email": "jon@example.com"})
    digest = base64.b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    headers = {f"{prefix}Hmac-Sha256": digest.decode(), f"{prefix}Topic": "orders/create",
               f"{prefix}Shop-Domain": "acme.myshopify.com", f"{prefix}API-Version": "2025-10",
               f"{prefix}Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
               f"{prefix}Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
               "Content-Type": "application/json"}  # fmt: skip
    forged = {**headers, f"{prefix}Hmac-Sha256": base64.b64encode(b"x" * 32).decode()}

    assert shopify_package_accepts(secret, body, headers)["valid"] is True
    assert shopify_package_accepts(secret, body, forged)["valid"] is False
    first, again = twice(client, path, body.encode(), "application/json", headers)
    refused = client.post(path, data=body, content_type="application/json", headers=forged)

    assert assert_stored_once(first, again).event_type == "orders/create"
    assert refused.status_code == 401
