"""The per-process credentials cache must never let a stale secret or tenant state through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from core import crypto
from tenants import credentials_cache, services
from tenants.models import SigningSecret, Tenant

pytestmark = pytest.mark.django_db
FORM = {"name": "Jane"}


def test_cached_requests_skip_the_database(acme, signed, django_assert_num_queries):
    assert signed.post(acme, FORM).status_code == 202

    with django_assert_num_queries(1):  # the INSERT only
        assert signed.post(acme, FORM).status_code == 202


def test_secret_added_by_another_process_works_at_once(acme, signed, monkeypatch):
    assert signed.post(acme, FORM).status_code == 202  # credentials now cached
    monkeypatch.setattr(credentials_cache._cache, "refetch_interval", 0)
    new_secret = "fbs_added-elsewhere-0123456789"
    # What tenant_rotate_secret does in another process: this process's cache is not told.
    SigningSecret.objects.create(tenant=acme.tenant, secret_encrypted=crypto.encrypt(new_secret))

    assert signed.post(acme, FORM, secret=new_secret).status_code == 202


def test_bad_signatures_cannot_hammer_the_database(acme, signed, django_assert_num_queries):
    assert signed.post(acme, FORM).status_code == 202

    with django_assert_num_queries(0):
        for _ in range(5):
            assert signed.post(acme, FORM, secret="fbs_wrong-wrong-wrong-wrong").status_code == 401


def test_expiry_is_exact_even_from_the_cache(acme, signed):
    start = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        services.tenant_rotate_secret(tenant=acme.tenant, overlap_hours=1)
        assert signed.post(acme, FORM).status_code == 202  # old secret, cached with its expiry
    with time_machine.travel(start + timedelta(hours=1, seconds=1), tick=False):
        response = signed.post(acme, FORM)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"


def test_disabling_through_the_service_applies_at_once(acme, signed):
    assert signed.post(acme, FORM).status_code == 202

    services.tenant_set_active(tenant=acme.tenant, is_active=False)

    assert signed.post(acme, FORM).status_code == 403


def test_changes_from_other_processes_apply_after_the_cache_lifetime(acme, signed, settings):
    assert signed.post(acme, FORM).status_code == 202
    Tenant.objects.filter(pk=acme.tenant.pk).update(is_active=False)  # as another process would
    assert signed.post(acme, FORM).status_code == 202  # still cached: the documented window

    settings.TENANT_CACHE_SECONDS = 0

    assert signed.post(acme, FORM).status_code == 403
