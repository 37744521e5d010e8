"""Slack, HubSpot and Salesforce through the engine, against local servers that answer as each
vendor's API reference documents (tests/vendors.py): success, a transient failure then success,
a permanent failure to a dead letter, and the credential in no attempt row or log line."""

from __future__ import annotations

import pytest

from core.errors import Invalid
from delivery import services
from delivery.models import DeliveryStatus
from tests.vendors import HubSpot, Salesforce, Slack, json_answer

from .conftest import LEAD, assert_secret_kept, attempts_of

pytestmark = pytest.mark.django_db
BOT_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
HUBSPOT_TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
SF_SECRET = "8F1E2D3C4B5A69788796A5B4C3D2E1F0"
FORM_GUID = "2b2e0a3c-8d3e-4b7a-9f9e-0c1d2e3f4a5b"


@pytest.fixture
def slack(settings):
    server = Slack(token=BOT_TOKEN).start()
    settings.SLACK_API_BASE = server.base
    yield server
    server.stop()


@pytest.fixture
def hubspot(settings):
    server = HubSpot(token=HUBSPOT_TOKEN).start()
    settings.HUBSPOT_API_BASE = server.base
    settings.HUBSPOT_FORMS_API_BASE = server.base
    yield server
    server.stop()


@pytest.fixture
def salesforce():
    server = Salesforce(client_id="3MVG9-formbridge", client_secret=SF_SECRET).start()
    yield server
    server.stop()


# --- Slack ---


def test_slack_webhook_posts_block_kit_with_escaped_values(slack, destination, deliver):
    destination(
        "slack",
        {
            "webhook_url": slack.webhook(),
            "template": "Lead from *{{ payload.email }}*: {{ payload.note }}",
        },
    )

    [delivery] = deliver(payload={**LEAD, "note": "<!channel> & <https://evil.example|click>"})

    assert delivery.status == DeliveryStatus.SUCCEEDED
    [call] = slack.at("/services/")
    message = call.json()
    section = message["blocks"][0]["text"]
    assert section["type"] == "mrkdwn"
    # Payload values cannot ping the channel or forge a link: &, < and > are escaped.
    assert section["text"] == (
        "Lead from *jane@example.com*: &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"
    )
    assert message["text"] == section["text"]
    assert message["blocks"][-1]["type"] == "context"


def test_slack_chat_post_message_with_a_bot_token(slack, destination, deliver, logs):
    destination("slack", {"channel": "C0SALES"}, auth_secret=BOT_TOKEN)

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.SUCCEEDED
    [call] = slack.at("/api/chat.postMessage")
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert call.json()["channel"] == "C0SALES"
    assert "*email*: jane@example.com" in call.json()["text"]  # the default template
    assert_secret_kept(BOT_TOKEN, logs)


def test_slack_429_waits_for_retry_after_then_sends(slack, destination, deliver):
    destination("slack", {"channel": "C0SALES"}, auth_secret=BOT_TOKEN, retry_schedule=[0])
    slack.fail_next(json_answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}))

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.RETRYING
    [attempt] = attempts_of(delivery)
    assert (attempt.outcome, attempt.response_status) == ("retryable", 429)
    waited = (delivery.next_attempt_at - attempt.started_at).total_seconds()
    assert 29 <= waited <= 31


def test_slack_ok_false_errors_are_classified(slack, destination, deliver):
    destination("slack", {"channel": "C0SALES"}, auth_secret=BOT_TOKEN)
    slack.fail_next(json_answer(200, {"ok": False, "error": "internal_error"}))

    [delivery] = deliver()
    assert [a.outcome for a in attempts_of(delivery)] == ["retryable", "success"]

    slack.channels.clear()  # the channel is gone: channel_not_found is the request's own fault
    [_, lost] = deliver()
    assert lost.status == DeliveryStatus.DEAD
    assert lost.last_error.endswith("slack: channel_not_found")
    assert len(attempts_of(lost)) == 1


def test_slack_webhook_url_is_a_secret(slack, destination, deliver, logs, api, acme):
    hook = slack.webhook()
    token = hook.rsplit("/", 1)[1]
    destination("slack", {"webhook_url": hook}, name="alerts")
    slack.fail_next((500, {"Content-Type": "text/plain"}, f"boom {token}".encode()))

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert_secret_kept(token, logs)
    shown = api(acme).get("/v1/destinations/alerts").json()
    assert token not in str(shown)
    assert shown["config"]["webhook_url"].endswith("/[redacted]")


def test_slack_template_that_fails_is_refused_on_save(acme):
    with pytest.raises(Invalid) as refused:
        services.destination_create(
            tenant=acme.tenant, name="alerts", kind="slack",
            config={"channel": "C0SALES", "template": "{{ payload.email | nosuchfilter }}"},
            auth_secret=BOT_TOKEN,
        )  # fmt: skip
    assert refused.value.field == "config.template"
    with pytest.raises(Invalid) as refused:
        services.destination_create(
            tenant=acme.tenant, name="alerts", kind="slack",
            config={"channel": "C0SALES", "template": "{{ ''.__class__.__mro__ }}"},
            auth_secret=BOT_TOKEN,
        )  # fmt: skip
    assert refused.value.field == "config.template"
    assert "SecurityError" in refused.value.message or "unsafe" in refused.value.message


# --- HubSpot ---

CONTACT_MAPPING = {
    "email": "payload.email",
    "firstname": "payload.first_name",
    "lastname": "payload.last_name",
    "company": "payload.company",
}


def test_hubspot_upserts_a_contact_by_email(hubspot, destination, deliver, logs):
    destination(
        "hubspot", {"mode": "contacts", "mapping": CONTACT_MAPPING}, auth_secret=HUBSPOT_TOKEN
    )

    deliveries = deliver(n=2)  # the same e-mail twice: one contact, updated

    assert [d.status for d in deliveries] == [DeliveryStatus.SUCCEEDED] * 2
    assert list(hubspot.contacts) == ["jane@example.com"]
    assert hubspot.contacts["jane@example.com"]["properties"]["company"] == "Acme"
    first = hubspot.at("/crm/v3/objects/contacts/batch/upsert")[0].json()
    assert first["inputs"][0]["idProperty"] == "email"
    assert first["inputs"][0]["id"] == "jane@example.com"
    assert_secret_kept(HUBSPOT_TOKEN, logs)


def test_hubspot_409_is_resolved_as_an_update(hubspot, destination, deliver):
    hubspot.contacts["jane@example.com"] = {"id": "77", "properties": {"company": "Old"}}
    destination("hubspot", {"mapping": CONTACT_MAPPING}, auth_secret=HUBSPOT_TOKEN)
    hubspot.fail_next(
        json_answer(409, {"status": "error", "message": "Contact already exists. Existing ID: 77",
                          "category": "CONFLICT"})
    )  # fmt: skip

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.SUCCEEDED
    [attempt] = attempts_of(delivery)
    assert attempt.request_method == "PATCH"
    assert "?idProperty=" in attempt.request_url  # query values are redacted in the log
    assert hubspot.contacts["jane@example.com"]["properties"]["company"] == "Acme"


def test_hubspot_rate_limit_headers_set_the_wait(hubspot, destination, deliver):
    destination(
        "hubspot", {"mapping": CONTACT_MAPPING}, auth_secret=HUBSPOT_TOKEN, retry_schedule=[0]
    )
    hubspot.fail_next(
        json_answer(
            429,
            {"status": "error", "message": "You have reached your secondly limit.",
             "errorType": "RATE_LIMIT", "policyName": "SECONDLY"},
            {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
             "X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0"},
        )
    )  # fmt: skip

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.RETRYING
    [attempt] = attempts_of(delivery)
    assert 9 <= (delivery.next_attempt_at - attempt.started_at).total_seconds() <= 11
    assert attempt.response_headers["x-hubspot-ratelimit-remaining"] == "0"


def test_hubspot_transient_then_success_and_a_bad_property_is_dead(hubspot, destination, deliver):
    destination(
        "hubspot", {"mapping": {**CONTACT_MAPPING, "favourite_colour": "payload.company"}},
        auth_secret=HUBSPOT_TOKEN, name="bad",
    )  # fmt: skip
    destination("hubspot", {"mapping": CONTACT_MAPPING}, auth_secret=HUBSPOT_TOKEN, name="good")
    hubspot.fail_next(json_answer(502, {"status": "error", "message": "Bad gateway"}))

    deliveries = {d.destination.name: d for d in deliver()}

    assert deliveries["bad"].status == DeliveryStatus.DEAD
    assert "PROPERTY_DOESNT_EXIST" in deliveries["bad"].last_error
    assert deliveries["good"].status == DeliveryStatus.SUCCEEDED
    assert len(hubspot.calls) == 3  # one 502 (either), then one each


def test_hubspot_forms_submission(hubspot, destination, deliver):
    destination(
        "hubspot",
        {"mode": "forms", "portal_id": "123456", "form_guid": FORM_GUID,
         "mapping": {"email": "payload.email", "firstname": "payload.first_name"}},
        auth_secret=HUBSPOT_TOKEN,
    )  # fmt: skip

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.SUCCEEDED
    [call] = hubspot.at("/submissions/v3/integration/secure/submit/123456/")
    assert {f["name"]: f["value"] for f in call.json()["fields"]} == {
        "email": "jane@example.com",
        "firstname": "Jane",
    }
    assert call.json()["fields"][0]["objectTypeId"] == "0-1"


# --- Salesforce ---

LEAD_MAPPING = {
    "FormBridge_Id__c": "submission_id",
    "Email": "payload.email",
    "FirstName": "payload.first_name",
    "LastName": "payload.last_name",
    "Company": "payload.company",
}


def salesforce_config(server, **extra):
    return {
        "login_url": server.base,
        "client_id": "3MVG9-formbridge",
        "sobject": "Lead",
        "external_id_field": "FormBridge_Id__c",
        "mapping": LEAD_MAPPING,
        **extra,
    }


def test_salesforce_upserts_a_lead_with_a_cached_token(salesforce, destination, deliver, logs):
    destination("salesforce", salesforce_config(salesforce), auth_secret=SF_SECRET)

    deliveries = deliver(n=3)

    assert [d.status for d in deliveries] == [DeliveryStatus.SUCCEEDED] * 3
    assert len(salesforce.at("/services/oauth2/token")) == 1  # one token for the three
    assert {key for key in salesforce.records} == {
        ("Lead", d.submission.submission_id) for d in deliveries
    }
    record = salesforce.records[("Lead", deliveries[0].submission.submission_id)]
    assert (record["Email"], record["Company"]) == ("jane@example.com", "Acme")
    assert "FormBridge_Id__c" not in record  # the key is in the URL, not the body
    assert_secret_kept(SF_SECRET, logs)
    assert all(token not in logs.text for token in salesforce.tokens)


def test_salesforce_refreshes_the_token_once_on_401(salesforce, destination, deliver):
    destination("salesforce", salesforce_config(salesforce), auth_secret=SF_SECRET)
    deliver()
    salesforce.revoke_tokens()

    [_, delivery] = deliver()

    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert len(attempts_of(delivery)) == 1  # the refresh happened inside the one attempt
    assert len(salesforce.at("/services/oauth2/token")) == 2


def test_salesforce_errors_by_code(salesforce, destination, deliver):
    destination(
        "salesforce",
        salesforce_config(salesforce, mapping={
            **{k: v for k, v in LEAD_MAPPING.items() if k != "Company"},
            "FormBridge_Id__c": "join('', ['m-', submission_id])",
        }),
        auth_secret=SF_SECRET,
        name="missing",
    )  # fmt: skip
    salesforce.fail_next(
        json_answer(403, [{"message": "TotalRequests Limit exceeded.",
                           "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
        path="/services/data/",
    )  # fmt: skip
    destination("salesforce", salesforce_config(salesforce), auth_secret=SF_SECRET, name="fine")

    deliveries = {d.destination.name: d for d in deliver()}

    limited = [a for d in deliveries.values() for a in attempts_of(d) if a.response_status == 403]
    assert [a.outcome for a in limited] == ["retryable"]
    missing = deliveries["missing"]
    assert missing.status == DeliveryStatus.DEAD
    assert "REQUIRED_FIELD_MISSING" in missing.last_error and "Company" in missing.last_error
    assert deliveries["fine"].status == DeliveryStatus.SUCCEEDED


def test_salesforce_wrong_secret_is_permanent(salesforce, destination, deliver):
    destination("salesforce", salesforce_config(salesforce), auth_secret="not-the-secret")

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.DEAD
    assert "invalid_client" in delivery.last_error or "invalid client" in delivery.last_error
