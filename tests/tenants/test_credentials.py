"""Signing secrets (encrypted, rotated with overlap) and API keys (hashed, revocable)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from ingest.models import Submission
from tenants import services
from tenants.models import ApiKey, SigningSecret

pytestmark = pytest.mark.django_db

FORM = {"name": "Jane"}


def raw_column(sql: str, *params) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def test_signing_secret_is_encrypted_at_rest(acme):
    [stored] = raw_column(
        "SELECT secret_encrypted FROM tenants_signingsecret WHERE tenant_id = %s", "t_acme"
    )

    assert acme.signing_secret not in stored
    key = Fernet(settings.FORMBRIDGE_ENCRYPTION_KEYS[0])
    assert key.decrypt(stored.encode()).decode() == acme.signing_secret


def test_api_key_cannot_be_recovered_from_the_database(acme):
    created = services.api_key_create(tenant=acme.tenant, name="zapier", scopes=["ingest"])

    rows = raw_column("SELECT row_to_json(k)::text FROM tenants_apikey k")

    assert re.fullmatch(r"fb_live_[A-Za-z0-9]{40}", created.key)
    assert created.key not in rows[0]
    assert created.key[len("fb_live_") :] not in rows[0]
    assert created.api_key.key_hash == hashlib.sha256(created.key.encode()).hexdigest()
    assert created.key.startswith(created.api_key.prefix)
    assert len(created.api_key.prefix) == len("fb_live_") + 8


def test_api_key_scopes_are_validated(acme):
    with pytest.raises(services.CredentialError, match="Unknown scope"):
        services.api_key_create(tenant=acme.tenant, scopes=["ingest", "superuser"])
    assert ApiKey.objects.count() == 0


def test_revoking_an_unknown_prefix_says_so(db):
    with pytest.raises(services.CredentialError, match="No API key"):
        services.api_key_revoke(prefix="fb_live_nope")


def test_tenant_ids_are_validated(db):
    with pytest.raises(ValidationError):
        services.tenant_create(tenant_id="Bad Tenant!")


def test_duplicate_tenant_is_refused(acme):
    with pytest.raises(services.CredentialError, match="already exists"):
        services.tenant_create(tenant_id="t_acme")
    assert SigningSecret.objects.count() == 1


def test_weak_secret_is_refused(db):
    with pytest.raises(services.CredentialError, match="at least 16"):
        services.tenant_create(tenant_id="t_weak", secret="short")


def test_rotation_keeps_the_old_secret_for_the_overlap_window(acme, signed):
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        new_secret = services.tenant_rotate_secret(tenant=acme.tenant)
        assert signed.post(acme, FORM).status_code == 202
        assert signed.post(acme, FORM, secret=new_secret).status_code == 202

    with time_machine.travel(start + timedelta(hours=23, minutes=59), tick=False):
        assert signed.post(acme, FORM).status_code == 202

    with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False):
        expired = signed.post(acme, FORM)
        assert signed.post(acme, FORM, secret=new_secret).status_code == 202

    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "invalid_signature"
    assert Submission.objects.count() == 4


def test_rotation_without_overlap_retires_the_old_secret_at_once(acme, signed):
    new_secret = services.tenant_rotate_secret(tenant=acme.tenant, overlap_hours=0)

    assert signed.post(acme, FORM).status_code == 401
    assert signed.post(acme, FORM, secret=new_secret).status_code == 202


def test_rotating_twice_never_extends_an_expiring_secret(acme):
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        services.tenant_rotate_secret(tenant=acme.tenant, overlap_hours=1)
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        services.tenant_rotate_secret(tenant=acme.tenant, overlap_hours=24)

    first, second, third = SigningSecret.objects.order_by("pk")
    assert first.expires_at == start + timedelta(hours=1)
    assert second.expires_at == start + timedelta(minutes=30, hours=24)
    assert third.expires_at is None
