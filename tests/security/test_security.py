"""Security properties not covered next to the code they protect: signatures compared in
constant time, destination credentials encrypted at rest, private redirect targets never
reached, credentials never echoed by the API.

Covered elsewhere (and listed in docs/RELIABILITY.md): the SSRF guard and DNS rebinding
(tests/delivery/test_signing_and_ssrf.py, test_engine.py), signing secrets encrypted and API
keys not recoverable (tests/tenants/test_credentials.py), tenant isolation on every API
endpoint (tests/test_api_isolation.py) and every admin page (tests/admin/)."""

from __future__ import annotations

import hmac

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.db import connection

from delivery import dispatcher
from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryStatus
from tenants import authentication

pytestmark = pytest.mark.django_db


def test_ingest_signatures_are_compared_in_constant_time(signed, acme, monkeypatch):
    compared = []
    real_compare = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(authentication.hmac, "compare_digest", spy)

    assert signed.post(acme, {"a": 1}).status_code == 202
    assert signed.post(acme, {"a": 1}, secret="not-the-right-secret").status_code == 401

    assert len(compared) >= 2  # every check goes through compare_digest, none through ==


def raw(sql: str, *params) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def test_destination_credentials_are_encrypted_at_rest(acme, receiver):
    created = delivery_services.destination_create(
        tenant=acme.tenant,
        name="crm",
        config={"url": receiver.url("/hook")},
        auth_mode="basic",
        auth_config={"username": "api"},
        auth_secret="basic-password-123",
        generate_signing_secret=True,
    )

    [row] = raw("SELECT row_to_json(d)::text FROM delivery_destination d WHERE name = %s", "crm")
    assert "basic-password-123" not in row
    assert created.signing_secret not in row
    assert created.signing_secret.removeprefix("whsec_") not in row
    fernet = Fernet(django_settings.FORMBRIDGE_ENCRYPTION_KEYS[0])
    [auth] = raw("SELECT auth_secret_encrypted FROM delivery_destination WHERE name = %s", "crm")
    assert fernet.decrypt(auth.encode()).decode() == "basic-password-123"


def test_a_redirect_to_a_private_address_is_not_followed(signed, acme, receiver, settings):
    settings.DELIVERY_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    delivery_services.destination_create(
        tenant=acme.tenant, name="crm", config={"url": receiver.url("/hook")}
    )
    metadata = "http://169.254.169.254/latest/meta-data/iam"
    receiver.set("/hook", [(307, {"Location": metadata}, b"")])
    assert signed.post(acme, {"a": 1}).status_code == 202

    dispatcher.drain()

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DEAD  # a 3xx is final, never followed
    assert len(receiver.at("/hook")) == 1


def test_the_api_never_returns_destination_credentials(api, acme, receiver):
    client = api(acme)
    created = client.post(
        "/v1/destinations",
        {
            "name": "crm",
            "url": receiver.url("/hook"),
            "auth_mode": "bearer",
            "auth_secret": "bearer-secret-xyz",
            "generate_signing_secret": True,
        },
    ).json()
    whsec = created["signing_secret"]  # shown once, in the create response

    for response in (client.get("/v1/destinations"), client.get("/v1/destinations/crm")):
        text = response.content.decode()
        assert "bearer-secret-xyz" not in text
        assert whsec not in text
