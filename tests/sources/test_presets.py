"""Each preset verifies exactly as its provider documents, against the provider's published test
vector where there is one, else a request built from the documentation; and refuses a wrong
secret, a stale timestamp and a tampered body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import Invalid, Unauthenticated
from sources.presets.base import Inbound, Secret
from sources.presets.registry import preset_for
from sources.presets.twilio import url_variants

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def inbound(body, headers, *, url="https://hooks.example.com/v1/sources/tok", ctype=JSON, now=NOW):
    body = body.encode() if isinstance(body, str) else body
    return Inbound(
        body=body,
        headers={k.lower(): v for k, v in headers.items()},
        url=url,
        content_type=ctype,
        now=now,
    )


def verify(preset, request, *secrets, config=None):
    preset = preset_for(preset)
    config = preset.clean_config(config or {})
    preset.verify(request, [Secret(s) for s in secrets], config)
    return preset.describe(request, config)


def refused(preset, request, *secrets, config=None) -> str:
    with pytest.raises(Unauthenticated) as caught:
        verify(preset, request, *secrets, config=config)
    return caught.value.code


def hmac_hex(key: str | bytes, message: str | bytes, algorithm=hashlib.sha256) -> str:
    key = key.encode() if isinstance(key, str) else key
    message = message.encode() if isinstance(message, str) else message
    return hmac.new(key, message, algorithm).hexdigest()


def hmac_b64(key, message, algorithm=hashlib.sha256) -> str:
    return base64.b64encode(bytes.fromhex(hmac_hex(key, message, algorithm))).decode()


# --- Stripe: built from docs.stripe.com/webhooks (signed_payload = t + "." + body) ---

STRIPE_SECRET = "whsec_test_b94a0f7c0a3e4d6b"
STRIPE_BODY = json.dumps({"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "type": "invoice.paid"})


def stripe_request(body=STRIPE_BODY, secret=STRIPE_SECRET, at=NOW, extra_v1=()):
    t = str(int(at.timestamp()))
    signatures = [hmac_hex(secret, f"{t}.{body}"), *extra_v1]
    header = f"t={t}," + ",".join(f"v1={s}" for s in signatures) + ",v0=ignored"
    return inbound(body, {"Stripe-Signature": header})


def test_stripe():
    event = verify("stripe", stripe_request(), STRIPE_SECRET)

    assert (event.event_id, event.event_type) == ("evt_1NG8Du2eZvKYlo2CUI79vXWy", "invoice.paid")
    # While Stripe rolls the secret it sends a v1 per secret: any one verifies.
    rolled = stripe_request(secret="whsec_new", extra_v1=[hmac_hex("x", "y")])
    assert verify("stripe", rolled, STRIPE_SECRET, "whsec_new").event_type == "invoice.paid"
    assert refused("stripe", stripe_request(), "whsec_wrong") == "invalid_signature"
    stale = stripe_request(at=NOW - timedelta(seconds=301))
    assert refused("stripe", stale, STRIPE_SECRET) == "stale_timestamp"
    tampered = stripe_request()
    tampered = inbound(tampered.body.replace(b"paid", b"void"), dict(tampered.headers))
    assert refused("stripe", tampered, STRIPE_SECRET) == "invalid_signature"
    assert refused("stripe", inbound(STRIPE_BODY, {}), STRIPE_SECRET) == "missing_signature_headers"


# --- GitHub: the worked example of docs.github.com "Validating webhook deliveries" ---


def test_github_documented_vector():
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    request = inbound(
        "Hello, World!",
        {
            "X-Hub-Signature-256": header,
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "X-GitHub-Event": "push",
        },
        ctype=FORM,
    )

    event = verify("github", request, "It's a Secret to Everybody")

    assert (event.event_id, event.event_type) == ("72d3162e-cc78-11e3-81ab-4c9367dc0958", "push")
    assert refused("github", request, "It's a secret to everybody") == "invalid_signature"
    tampered = inbound("Hello, World?", dict(request.headers), ctype=FORM)
    assert refused("github", tampered, "It's a Secret to Everybody") == "invalid_signature"


def test_github_json_body():
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1})
    headers = {
        "X-Hub-Signature-256": "sha256=" + hmac_hex("s3cret", body),
        "X-GitHub-Delivery": "d-1",
        "X-GitHub-Event": "ping",
    }

    event = verify("github", inbound(body, headers), "old", "s3cret")  # rotation overlap

    assert event.payload["zen"] == "Keep it logically awesome."
    assert event.event_type == "ping"


# --- Shopify: shopify.dev "Verify the webhook" (base64 HMAC-SHA256 of the raw body) ---


def test_shopify():
    body = json.dumps({"id": 820982911946154508, "email": "jon@example.com"})
    headers = {
        "X-Shopify-Hmac-Sha256": hmac_b64("shpss_secret", body),
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Topic": "orders/create",
    }

    event = verify("shopify", inbound(body, headers), "shpss_secret")

    assert event.event_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert event.event_type == "orders/create"
    assert refused("shopify", inbound(body, headers), "shpss_other") == "invalid_signature"
    assert refused("shopify", inbound(body + " ", headers), "shpss_secret") == "invalid_signature"


# --- Slack: the worked example of api.slack.com "Verifying requests from Slack" ---

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmi"
    "bIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_AT = datetime.fromtimestamp(1531420618, UTC)


def test_slack_documented_vector():
    headers = {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    request = inbound(SLACK_BODY, headers, ctype=FORM, now=SLACK_AT)

    event = verify("slack", request, SLACK_SECRET)

    assert event.event_type == "/webhook-collect"
    assert event.payload["user_name"] == "roadrunner"
    assert refused("slack", request, "0" * 32) == "invalid_signature"
    late = inbound(SLACK_BODY, headers, ctype=FORM, now=SLACK_AT + timedelta(seconds=301))
    assert refused("slack", late, SLACK_SECRET) == "stale_timestamp"
    tampered = inbound(SLACK_BODY.replace("foobar", "foobaz"), headers, ctype=FORM, now=SLACK_AT)
    assert refused("slack", tampered, SLACK_SECRET) == "invalid_signature"


def slack_json(document, secret=SLACK_SECRET):
    body = json.dumps(document)
    t = str(int(NOW.timestamp()))
    signature = "v0=" + hmac_hex(secret, f"v0:{t}:{body}")
    return inbound(body, {"X-Slack-Request-Timestamp": t, "X-Slack-Signature": signature})


def test_slack_events_api_and_url_verification():
    event = verify(
        "slack",
        slack_json(
            {"type": "event_callback", "event_id": "Ev0PV52K21", "event": {"type": "app_mention"}}
        ),
        SLACK_SECRET,
    )
    challenge = verify(
        "slack", slack_json({"type": "url_verification", "challenge": "3eZbrw1a"}), SLACK_SECRET
    )

    assert (event.event_id, event.event_type, event.reply) == ("Ev0PV52K21", "app_mention", None)
    assert challenge.reply == {"challenge": "3eZbrw1a"}
    forged = slack_json({"type": "url_verification", "challenge": "x"}, secret="not-it")
    assert refused("slack", forged, SLACK_SECRET) == "invalid_signature"


# --- Standard Webhooks: the specification's test vector ---

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_AT = datetime.fromtimestamp(1614265330, UTC)


def sw_request(signature, body='{"test": 2432232314}', now=SW_AT):
    return inbound(
        body,
        {
            "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "webhook-timestamp": "1614265330",
            "webhook-signature": signature,
        },
        now=now,
    )


def test_standard_webhooks_specification_vector():
    good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    event = verify("standard-webhooks", sw_request(good), SW_SECRET)
    several = verify("standard-webhooks", sw_request(f"v1,AAAA {good} v2,xyz"), SW_SECRET)

    assert event.event_id == several.event_id == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    other_secret = "whsec_" + base64.b64encode(b"o" * 32).decode()
    assert refused("standard-webhooks", sw_request(good), other_secret) == "invalid_signature"
    late = sw_request(good, now=SW_AT + timedelta(seconds=301))
    assert refused("standard-webhooks", late, SW_SECRET) == "stale_timestamp"
    tampered = sw_request(good, body='{"test": 2432232315}')
    assert refused("standard-webhooks", tampered, SW_SECRET) == "invalid_signature"


def test_standard_webhooks_generates_whsec_secrets():
    preset = preset_for("standard-webhooks")
    secret = preset.generate_secret()

    assert preset.generates_secret
    assert secret.startswith("whsec_")
    assert len(Secret(secret).standard_webhooks_key()) == 32


# --- Twilio: the example of twilio.com "Webhooks security" (and its libraries' tests) ---

TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_FORM = (
    "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234"
    "&From=%2B14158675309&To=%2B18005551212"
)


def test_twilio_documented_vector():
    request = inbound(
        TWILIO_FORM,
        {"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
        url=TWILIO_URL,
        ctype=FORM,
    )

    event = verify("twilio", request, "12345")

    assert event.payload["Digits"] == "1234"
    assert refused("twilio", request, "54321") == "invalid_signature"
    tampered = inbound(
        TWILIO_FORM.replace("1234&", "9999&"), dict(request.headers), url=TWILIO_URL, ctype=FORM
    )
    assert refused("twilio", tampered, "12345") == "invalid_signature"
    elsewhere = inbound(TWILIO_FORM, dict(request.headers), url=TWILIO_URL + "&x=1", ctype=FORM)
    assert refused("twilio", elsewhere, "12345") == "invalid_signature"


def test_twilio_url_with_the_default_port_and_json_bodies():
    assert url_variants("https://mycompany.com/a?b=1") == [
        "https://mycompany.com/a?b=1",
        "https://mycompany.com:443/a?b=1",
    ]
    with_port = inbound(
        TWILIO_FORM,
        {"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
        url="https://mycompany.com:443/myapp.php?foo=1&bar=2",
        ctype=FORM,
    )
    assert verify("twilio", with_port, "12345").payload["To"] == "+18005551212"

    body = '{"property": "value", "boolean": true}'
    url = f"https://mycompany.com/myapp?bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
    signed = inbound(
        body,
        {
            "X-Twilio-Signature": hmac_b64("12345", url, hashlib.sha1),
            "I-Twilio-Idempotency-Token": "i-1",
        },
        url=url,
    )
    assert verify("twilio", signed, "12345").event_id == "i-1"
    swapped = inbound('{"property": "other"}', dict(signed.headers), url=url)
    assert refused("twilio", swapped, "12345") == "invalid_signature"


# --- Typeform: typeform.com "Secure your webhooks" (sha256= + base64 HMAC-SHA256 of the body) ---


def test_typeform():
    body = json.dumps(
        {"event_id": "01HBT8QJ8Z", "event_type": "form_response", "form_response": {"answers": []}}
    )
    headers = {"Typeform-Signature": "sha256=" + hmac_b64("tf-secret", body)}

    event = verify("typeform", inbound(body, headers), "tf-secret")

    assert (event.event_id, event.event_type) == ("01HBT8QJ8Z", "form_response")
    assert refused("typeform", inbound(body, headers), "tf-other") == "invalid_signature"
    assert (
        refused("typeform", inbound(body[:-1] + " }", headers), "tf-secret") == "invalid_signature"
    )
    bare = {"Typeform-Signature": hmac_b64("tf-secret", body)}  # without sha256=
    assert refused("typeform", inbound(body, bare), "tf-secret") == "invalid_signature"


# --- generic HMAC ---


def test_generic_hmac_body_and_timestamped():
    body = json.dumps({"order": 7})
    plain = inbound(
        body,
        {"X-Hook-Sig": "sha512=" + hmac_b64("k", body, hashlib.sha512), "X-Hook-Id": "h-7"},
    )
    config = {
        "header": "X-Hook-Sig",
        "algorithm": "sha512",
        "encoding": "base64",
        "prefix": "sha512=",
    }
    assert verify("generic-hmac", plain, "k", config=config).payload == {"order": 7}
    assert refused("generic-hmac", plain, "other", config=config) == "invalid_signature"

    t = str(int(NOW.timestamp()))
    timed = {"signed": "timestamp_body", "timestamp_header": "X-Sent-At", "separator": ":"}
    stamped = inbound(body, {"X-Signature": hmac_hex("k", f"{t}:{body}"), "X-Sent-At": t})
    assert verify("generic-hmac", stamped, "k", config=timed).payload == {"order": 7}
    old = str(int(NOW.timestamp()) - 301)
    stale = inbound(body, {"X-Signature": hmac_hex("k", f"{old}:{body}"), "X-Sent-At": old})
    assert refused("generic-hmac", stale, "k", config=timed) == "stale_timestamp"


def test_generic_hmac_options_are_checked_by_name():
    preset = preset_for("generic-hmac")

    with pytest.raises(Invalid) as unknown:
        preset.clean_config({"hedaer": "X-Sig"})
    with pytest.raises(Invalid) as bad_choice:
        preset.clean_config({"algorithm": "md5"})

    assert unknown.value.field == "config.hedaer"
    assert bad_choice.value.field == "config.algorithm"
