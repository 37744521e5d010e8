"""A destination's signing secret rotates with an overlap (core.rotation): during it every
webhook carries one signature per secret (`webhook-signature: v1,<new> v1,<old>`), so a receiver
still verifying with the old secret and one already on the new both accept; after it, only the
new one signs. Verified with the Standard Webhooks reference library (standardwebhooks), the
code receivers run."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from delivery import dispatcher, services
from delivery.models import DestinationSigningSecret
from tests.conftest import assert_error
from tests.delivery.test_commands import run_json

pytestmark = pytest.mark.django_db


def verifies(secret: str, received) -> bool:
    try:
        Webhook(secret).verify(received.body, dict(received.headers))
    except WebhookVerificationError:
        return False
    return True


@pytest.fixture
def signed_hook(acme, api, receiver):
    admin = api(acme, scopes=("admin",))
    created = admin.post(
        "/v1/destinations",
        {"name": "crm", "url": receiver.url("/hook"), "generate_signing_secret": True},
    )
    assert created.status_code == 201, created.json()
    return admin, created.json()["signing_secret"]


def test_during_the_overlap_old_and_new_secrets_both_verify_then_only_the_new(
    signed_hook, signed, acme, receiver
):
    admin, old = signed_hook

    rotated = admin.post("/v1/destinations/crm/rotate-secret", {"overlap_hours": 24})

    assert rotated.status_code == 200, rotated.json()
    new = rotated.json()["signing_secret"]
    assert new.startswith("whsec_") and new != old
    [until] = rotated.json()["previous_secrets_expire_at"]
    signed.submit(acme)
    dispatcher.drain()
    [during] = receiver.at("/hook")
    assert len(during.headers["webhook-signature"].split()) == 2
    assert verifies(old, during) and verifies(new, during)

    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert until < timezone.now().isoformat()
        signed.submit(acme)
        dispatcher.drain()
        after = receiver.at("/hook")[1]
        assert len(after.headers["webhook-signature"].split()) == 1
        assert verifies(new, after) and not verifies(old, after)


def test_a_second_rotation_in_the_overlap_keeps_every_secret_a_receiver_may_hold(
    signed_hook, signed, acme, receiver
):
    admin, first = signed_hook
    second = admin.post("/v1/destinations/crm/rotate-secret", {}).json()["signing_secret"]
    third = admin.post("/v1/destinations/crm/rotate-secret", {}).json()["signing_secret"]

    signed.submit(acme)
    dispatcher.drain()

    [received] = receiver.at("/hook")
    assert all(verifies(secret, received) for secret in (first, second, third))
    assert received.headers["webhook-signature"].count("v1,") == 3


def test_an_overlap_of_zero_switches_at_once(signed_hook, signed, acme, receiver):
    _, old = signed_hook

    rotated = run_json("destinations", "rotate-secret", "t_acme", "crm", "--overlap-hours", "0")

    assert rotated["previous_secrets_expire_at"] == []
    signed.submit(acme)
    dispatcher.drain()
    [received] = receiver.at("/hook")
    assert verifies(rotated["signing_secret"], received) and not verifies(old, received)


def test_setting_a_secret_outright_ends_an_overlap(signed_hook, signed, acme, receiver):
    admin, _ = signed_hook
    admin.post("/v1/destinations/crm/rotate-secret", {"overlap_hours": 24})

    replaced = admin.patch("/v1/destinations/crm", {"generate_signing_secret": True})

    assert replaced.status_code == 200
    assert not DestinationSigningSecret.objects.unexpired(timezone.now()).exists()
    signed.submit(acme)
    dispatcher.drain()
    [received] = receiver.at("/hook")
    assert received.headers["webhook-signature"].count("v1,") == 1
    assert verifies(replaced.json()["signing_secret"], received)


def test_rotation_refusals(signed_hook, acme, api):
    admin, _ = signed_hook

    assert_error(admin.post("/v1/destinations/nope/rotate-secret", {}), 404, "not_found")
    body = assert_error(
        admin.post("/v1/destinations/crm/rotate-secret", {"overlap_hours": 10_000}),
        400,
        "invalid_destination",
    )
    assert "overlap_hours" in body["error"]["fields"]
    services.destination_create(tenant=acme.tenant, name="pull", kind="inbox")
    assert_error(admin.post("/v1/destinations/pull/rotate-secret", {}), 400, "invalid_destination")
    reader = api(acme, scopes=("read",))
    assert reader.post("/v1/destinations/crm/rotate-secret", {}).status_code == 403
