"""Admin pages through the test client: secrets shown once, rotation, keys, destinations with the
service's validation, test send, replay and redrive, read-only attempts."""

from __future__ import annotations

import pytest

from core import crypto
from delivery.models import Delivery, DeliveryAttempt, Destination
from sources.models import Source, SourceSecret
from tenants.models import ApiKey, SigningSecret, Tenant
from tenants.services import hash_api_key
from tests.admin.conftest import DESTINATION_FORM

pytestmark = pytest.mark.django_db


def test_a_new_tenants_secret_is_shown_once_and_verifies(client, root):
    response = client.post(
        "/admin/tenants/tenant/add/",
        {
            **{
                f"{prefix}-{n}": "0"
                for prefix in ("signing_secrets", "api_keys")
                for n in ("TOTAL_FORMS", "INITIAL_FORMS")
            },
            "id": "t_new",
            "name": "New",
            "retention_days": "7",
            "rate_limit_per_second": "0",
            "daily_quota": "0",
            "max_payload_bytes": "1048576",
        },
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = response.context["secrets"][1][1]
    assert secret.startswith("fbs_")
    stored = SigningSecret.objects.get(tenant_id="t_new")
    assert (
        secret not in stored.secret_encrypted and crypto.decrypt(stored.secret_encrypted) == secret
    )
    assert Tenant.objects.get(pk="t_new").retention_days == 7
    assert Destination.objects.filter(tenant_id="t_new", kind="inbox").exists()
    assert secret not in client.get("/admin/tenants/tenant/t_new/change/").content.decode()


def test_rotation_shows_the_new_secret_once_and_keeps_the_old_for_the_overlap(client, root):
    response = client.post("/admin/tenants/tenant/t_acme/rotate-secret/", {"overlap_hours": "2"})

    new = response.context["secrets"][0][1]
    secrets = SigningSecret.objects.filter(tenant_id="t_acme")
    assert sorted(crypto.decrypt(s.secret_encrypted) == new for s in secrets) == [False, True]
    old = secrets.exclude(expires_at=None).get()
    assert 1.9 * 3600 < (old.expires_at - old.created_at).total_seconds() < 2.1 * 3600
    bad = client.post("/admin/tenants/tenant/t_acme/rotate-secret/", {"overlap_hours": "-1"})
    assert bad.status_code == 302 and SigningSecret.objects.filter(tenant_id="t_acme").count() == 2


def test_api_key_shown_once_stored_hashed_and_revoked(client, root):
    response = client.post(
        "/admin/tenants/apikey/add/",
        {"tenant": "t_acme", "name": "zap", "scopes": ["read", "inbox"]},
    )

    key = response.context["secrets"][0][1]
    stored = ApiKey.objects.get(name="zap")
    assert stored.key_hash == hash_api_key(key) and key not in str(stored.__dict__)
    assert stored.scopes == ["read", "inbox"]
    assert (
        client.get("/v1/submissions", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    )
    client.post(
        "/admin/tenants/apikey/", {"action": "revoke_keys", "_selected_action": [stored.pk]}
    )
    assert (
        client.get("/v1/submissions", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url", "private or reserved"),
        ({"url": "ftp://example.com/x"}, "url", "http"),
        ({"config": '{"mapping": "payload.[["}'}, "config", "mapping"),
        ({"auth_mode": "bearer"}, "auth_secret", "needs a secret"),
        ({"retry_schedule": "[-5]"}, "retry_schedule", ""),
    ],
)
def test_destination_form_shows_the_services_validation(
    client, root, settings, changes, field, message
):
    settings.DELIVERY_ALLOWED_NETWORKS = []
    data = {
        **DESTINATION_FORM,
        "tenant": "t_acme",
        "name": "bad",
        "url": "https://93.184.216.34/h",
        **changes,
    }

    response = client.post("/admin/delivery/destination/add/", data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors or "__all__" in errors, errors
    assert message.lower() in str(errors).lower()
    assert not Destination.objects.filter(name="bad").exists()


def test_destination_create_edit_and_test_send(client, root, receiver):
    receiver.set("/hook", [(200, {}, b"thanks")])
    data = {
        **DESTINATION_FORM,
        "tenant": "t_acme",
        "name": "hook",
        "url": receiver.url("/hook"),
        "auth_mode": "bearer",
        "auth_secret": "tok-123456789",
    }

    created = client.post("/admin/delivery/destination/add/", data)

    whsec = created.context["secrets"][0][1]
    destination = Destination.objects.get(name="hook")
    assert (
        whsec.startswith("whsec_") and crypto.decrypt(destination.signing_secret_encrypted) == whsec
    )
    assert crypto.decrypt(destination.auth_secret_encrypted) == "tok-123456789"
    # Editing without retyping the secret keeps it; signing stays as it is.
    edit = {
        **data,
        "name": "hook",
        "signing_action": "keep",
        "auth_secret": "",
        "max_attempts": "4",
    }
    del edit["tenant"], edit["kind"]
    assert (
        client.post(f"/admin/delivery/destination/{destination.pk}/change/", edit).status_code
        == 302
    )
    destination.refresh_from_db()
    assert destination.max_attempts == 4
    assert crypto.decrypt(destination.auth_secret_encrypted) == "tok-123456789"
    assert crypto.decrypt(destination.signing_secret_encrypted) == whsec

    result = client.post(f"/admin/delivery/destination/{destination.pk}/test/")

    [(shown, outcome)] = result.context["results"]
    assert (shown.pk, outcome.outcome, outcome.status_code, outcome.response_body) == (
        destination.pk,
        "success",
        200,
        "thanks",
    )
    [seen] = receiver.at("/hook")
    assert seen.headers["Authorization"] == "Bearer tok-123456789"


def test_redrive_and_replay_actions_requeue_through_the_service(client, root):
    dead = Delivery.objects.filter(tenant_id="t_acme", status="dead").get()
    response = client.post(
        "/admin/delivery/deadletter/",
        {"action": "redrive", "_selected_action": [dead.pk]},
        follow=True,
    )

    assert "Redrove 1 dead letter(s)." in response.content.decode()
    dead.refresh_from_db()
    assert dead.status == "pending" and dead.next_attempt_at is not None
    assert dead.cycle_started_at_attempt == dead.attempts  # a new retry budget


def test_attempts_are_read_only_everywhere(client, root):
    attempt = DeliveryAttempt.objects.filter(tenant_id="t_acme").first()
    page = client.get(f"/admin/delivery/deliveryattempt/{attempt.pk}/change/")

    assert page.status_code == 200
    assert "Save" not in page.content.decode().split('id="content-main"')[1].split("</form>")[
        0
    ].replace("Save as", "")
    client.post(f"/admin/delivery/deliveryattempt/{attempt.pk}/change/", {"error": "edited"})
    client.post(f"/admin/delivery/deliveryattempt/{attempt.pk}/delete/", {"post": "yes"})
    attempt.refresh_from_db()
    assert attempt.error != "edited"
    assert client.get("/admin/delivery/deliveryattempt/add/").status_code == 403


def test_a_source_is_added_with_its_secret_shown_once_and_rotated_by_a_new_one(client, root):
    added = client.post(
        "/admin/sources/source/add/",
        {
            "tenant": "t_acme",
            "name": "clerk",
            "preset": "standard-webhooks",
            "config": "{}",
            "enabled": "on",
        },
    )

    assert added.status_code == 200, added.content
    shown = dict(added.context["secrets"])
    source = Source.objects.get(name="clerk")
    assert shown["URL"].endswith(f"/v1/sources/{source.token}")
    assert shown["Signing secret"].startswith("whsec_")
    assert (
        shown["Signing secret"]
        not in client.get(f"/admin/sources/source/{source.pk}/change/").content.decode()
    )

    refused = client.post(
        f"/admin/sources/source/{source.pk}/change/",
        {"name": "clerk", "config": "{}", "enabled": "on", "secret": "not-whsec"},
    )
    assert "whsec_" in refused.content.decode()  # the service's message, next to the field
    assert SourceSecret.objects.filter(source=source).count() == 1

    changed = client.post(
        f"/admin/sources/source/{source.pk}/change/",
        {"name": "clerk", "config": "{}", "enabled": "on", "secret": "whsec_" + "QUFB" * 8},
    )
    assert changed.status_code == 302
    assert SourceSecret.objects.filter(source=source).count() == 2
    assert SourceSecret.objects.filter(source=source, expires_at__isnull=False).count() == 1
