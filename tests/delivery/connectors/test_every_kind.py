"""Every kind is created the same three ways (API, command, admin) through the one service:
config validated on save, the credential write-only and encrypted; and each kind's send test
reaches its far end."""

from __future__ import annotations

import json

import pytest

from core import crypto
from delivery.connectors.registry import available_kinds, connector_for
from delivery.models import Destination
from tests.admin.conftest import DESTINATION_FORM
from tests.delivery.test_commands import run, run_json
from tests.vendors import Slack

pytestmark = pytest.mark.django_db
SECRETS = {
    "slack": "xoxb-1111-2222-abcdefghijklmnop",
    "hubspot": "pat-na1-00000000-1111-2222-3333-444444444444",
    "salesforce": "consumer-secret-0123456789",
    "email": "relay-password-0123",
}


def config_of(kind: str) -> dict:
    return {
        "dynamodb": {"table": "formbridge-mirror"},
        "s3": {"bucket": "acme-archive"},
        "eventbridge": {"event_bus": "forms"},
        "sqs": {"queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/leads"},
        "slack": {"channel": "C0SALES"},
        "email": {"to": ["sales@example.com"], "subject": "Lead", "text_template": "{{ payload }}",
                  "smtp_url": "smtp+tls://relay@127.0.0.1:2525"},
        "hubspot": {"mode": "contacts", "mapping": {"email": "payload.email"}},
        "salesforce": {"login_url": "http://127.0.0.1:9/", "client_id": "3MVG9", "sobject": "Lead",
                       "external_id_field": "FormBridge_Id__c",
                       "mapping": {"FormBridge_Id__c": "submission_id"}},
    }[kind]  # fmt: skip


KINDS = ("dynamodb", "s3", "eventbridge", "sqs", "slack", "email", "hubspot", "salesforce")


@pytest.fixture(autouse=True)
def _aws_targets_granted(acme, settings):
    """Every kind's creation, not the binding of AWS targets (its own tests): acme may use any,
    and a bus or table named without its ARN is the instance account's."""
    settings.AWS_ACCOUNT_ID = "123456789012"
    acme.tenant.target_grants = ["arn:aws:*"]
    acme.tenant.save()


def test_the_registry_holds_the_contract_kinds():
    assert set(available_kinds()) == {"rest", "inbox", *KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_created_through_the_api(kind, api, acme):
    body = {"name": "out", "kind": kind, "config": config_of(kind)}
    if kind in SECRETS:
        body["auth_secret"] = SECRETS[kind]

    response = api(acme).post("/v1/destinations", body)

    assert response.status_code == 201, response.json()
    shown = response.json()
    assert shown["kind"] == kind and shown["has_auth_secret"] == (kind in SECRETS)
    assert SECRETS.get(kind, "never-shown") not in json.dumps(shown)
    stored = Destination.objects.get(name="out")
    if kind in SECRETS:
        assert SECRETS[kind] not in stored.auth_secret_encrypted
        assert crypto.decrypt(stored.auth_secret_encrypted) == SECRETS[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_config_is_a_clear_error_naming_its_field(kind, api, acme):
    bad = {"mode": "bogus"} if kind == "hubspot" else {}  # hubspot's defaults make {} valid
    body = {"name": "out", "kind": kind, "config": bad}
    if kind in SECRETS:
        body["auth_secret"] = SECRETS[kind]

    response = api(acme).post("/v1/destinations", body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_destination"
    [field] = error["fields"]
    assert field.startswith("config")
    assert not Destination.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_created_by_the_command(kind, acme):
    args = ["destinations", "add", "t_acme", "out", "--kind", kind,
            "--config", json.dumps(config_of(kind))]  # fmt: skip
    if kind in SECRETS:
        args += ["--auth-secret", SECRETS[kind]]

    added = run_json(*args)

    assert added["kind"] == kind
    stored = Destination.objects.get(name="out")
    assert stored.config == {**config_of(kind), **stored.config}  # defaults may be added
    if kind in SECRETS:
        assert crypto.decrypt(stored.auth_secret_encrypted) == SECRETS[kind]
    listed = run("destinations", "list", "t_acme")[0]
    target = {
        "dynamodb": "formbridge-mirror", "s3": "acme-archive", "eventbridge": "forms",
        "sqs": config_of("sqs")["queue_url"], "slack": "C0SALES", "email": "sales@example.com",
        "hubspot": "contacts", "salesforce": "http://127.0.0.1:9/",
    }[kind]  # fmt: skip
    assert target in listed


@pytest.fixture
def root(client, acme):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("root", password="root-pass-123")
    client.force_login(user)
    return user


@pytest.mark.parametrize("kind", KINDS)
def test_created_in_the_admin(kind, client, root):
    data = {
        **DESTINATION_FORM,
        "tenant": "t_acme",
        "name": "out",
        "kind": kind,
        "config": json.dumps(config_of(kind)),
        "auth_secret": SECRETS.get(kind, ""),
    }

    response = client.post("/admin/delivery/destination/add/", data)

    assert response.status_code in (200, 302)
    assert Destination.objects.filter(name="out", kind=kind).exists(), (
        response.context and response.context["adminform"].form.errors
    )


def test_admin_send_test_reaches_slack(client, root, settings):
    slack = Slack(token=SECRETS["slack"]).start()
    settings.SLACK_API_BASE = slack.base
    try:
        data = {
            **DESTINATION_FORM,
            "tenant": "t_acme",
            "name": "alerts",
            "kind": "slack",
            "config": json.dumps({"channel": "C0SALES"}),
            "auth_secret": SECRETS["slack"],
        }
        client.post("/admin/delivery/destination/add/", data)
        destination = Destination.objects.get(name="alerts")

        result = client.post(f"/admin/delivery/destination/{destination.pk}/test/")

        [(_, outcome)] = result.context["results"]
        assert (outcome.outcome, outcome.status_code) == ("success", 200)
        [call] = slack.at("/api/chat.postMessage")
        assert "A test event from FormBridge." in call.json()["text"]
    finally:
        slack.stop()


def test_the_admin_shows_each_kinds_config_keys_from_its_connector():
    from delivery.admin_forms import DestinationForm

    shown = DestinationForm.base_fields["config"].help_text
    for kind in ("rest", *KINDS):
        assert f"{kind}: {connector_for(kind).config_help}" in shown, kind
