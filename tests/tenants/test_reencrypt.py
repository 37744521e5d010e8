"""manage.py reencrypt: after a new Fernet key is put first, every stored secret is encrypted
again with it, so the old key can be dropped and every secret still reads."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from core import crypto
from delivery import services as delivery_services
from delivery.models import Destination
from tenants.models import SigningSecret
from tests.factories import tenant_with_secret

pytestmark = pytest.mark.django_db


def use_keys(settings, *keys: str) -> None:
    settings.FORMBRIDGE_ENCRYPTION_KEYS = list(keys)
    crypto._fernet.cache_clear()
    crypto.decrypt.cache_clear()


@pytest.fixture
def old_key(settings):
    key = Fernet.generate_key().decode()
    use_keys(settings, key)
    yield key
    crypto._fernet.cache_clear()
    crypto.decrypt.cache_clear()


def test_secrets_move_to_the_new_key_and_the_old_one_can_go(settings, old_key):
    settings.DELIVERY_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    acme = tenant_with_secret("t_acme")
    delivery_services.destination_create(
        tenant=acme.tenant, name="crm", config={"url": "http://127.0.0.1:9/hook"},
        auth_mode="bearer", auth_secret="tok-1234567890", generate_signing_secret=True,
    )  # fmt: skip
    new_key = Fernet.generate_key().decode()
    use_keys(settings, new_key, old_key)

    out = io.StringIO()
    call_command("reencrypt", stdout=out)

    assert "tenants.SigningSecret: 1 row(s) re-encrypted" in out.getvalue()
    assert "delivery.Destination: 1 row(s) re-encrypted" in out.getvalue()
    use_keys(settings, new_key)  # the old key dropped
    stored = SigningSecret.objects.get(tenant=acme.tenant).secret_encrypted
    assert crypto.decrypt(stored) == acme.signing_secret
    destination = Destination.objects.get(name="crm")
    assert crypto.decrypt(destination.auth_secret_encrypted) == "tok-1234567890"
    with pytest.raises(InvalidToken):  # the old key no longer reads what is stored
        Fernet(old_key.encode()).decrypt(stored.encode())


def test_dry_run_writes_nothing(settings, old_key):
    acme = tenant_with_secret("t_acme")
    before = SigningSecret.objects.get(tenant=acme.tenant).secret_encrypted
    use_keys(settings, Fernet.generate_key().decode(), old_key)

    out = io.StringIO()
    call_command("reencrypt", "--dry-run", stdout=out)

    assert "tenants.SigningSecret: 1 row(s) to re-encrypt" in out.getvalue()
    assert SigningSecret.objects.get(tenant=acme.tenant).secret_encrypted == before
