"""Retention: `manage.py purge` and the beat task, on both sides of each tenant's boundary."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from delivery import dispatcher
from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryAttempt
from ingest.models import Submission
from ingest.tasks import submissions_purge_expired
from tests.factories import tenant_with_secret

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def history(signed, acme, receiver):
    """acme (30-day retention) and globex (90-day) with submissions around the boundaries, each
    delivered once (a delivery and an attempt)."""
    globex = tenant_with_secret("t_globex", retention_days=90)
    for created in (acme, globex):
        delivery_services.destination_create(
            tenant=created.tenant, name="crm", config={"url": receiver.url("/ok")}
        )
    now = timezone.now()
    ages = {
        "acme-31d": (acme, 31 * DAY),
        "acme-30d-plus-1m": (acme, 30 * DAY + timedelta(minutes=1)),
        "acme-30d-minus-1m": (acme, 30 * DAY - timedelta(minutes=1)),
        "acme-new": (acme, timedelta(0)),
        "globex-89d": (globex, 89 * DAY),
        "globex-91d": (globex, 91 * DAY),
    }
    for submission_id, (created, age) in ages.items():
        with time_machine.travel(now - age, tick=False):
            body = {"submission_id": submission_id, "payload": {"n": 1}}
            assert signed.post(created, body).status_code == 202
            dispatcher.drain()
    assert DeliveryAttempt.objects.count() == 6
    return now


def kept() -> set[str]:
    return set(Submission.objects.values_list("submission_id", flat=True))


def test_purge_deletes_past_each_tenants_retention_with_deliveries_and_attempts(history):
    out = StringIO()
    with time_machine.travel(history, tick=False):
        call_command("purge", "--json", stdout=out, stderr=StringIO())

    report = json.loads(out.getvalue())
    assert report == {
        "dry_run": False,
        "submissions": 3,
        "deliveries": 3,
        "attempts": 3,
        "files": 0,
        "by_tenant": {"t_acme": 2, "t_globex": 1},
    }
    assert kept() == {"acme-30d-minus-1m", "acme-new", "globex-89d"}
    assert Delivery.objects.count() == 3
    assert DeliveryAttempt.objects.count() == 3
    assert set(Delivery.objects.values_list("submission__submission_id", flat=True)) == kept()


def test_dry_run_counts_and_deletes_nothing(history):
    out = StringIO()
    with time_machine.travel(history, tick=False):
        call_command("purge", "--dry-run", stdout=out)

    assert out.getvalue().startswith("would delete 3 submissions, 3 deliveries and 3 attempts")
    assert len(kept()) == 6
    assert DeliveryAttempt.objects.count() == 6


def test_older_than_days_overrides_every_tenant_and_batches_resume(history):
    with time_machine.travel(history, tick=False):
        call_command(
            "purge",
            "--older-than-days",
            "1",
            "--batch-size",
            "1",
            stdout=StringIO(),
            stderr=StringIO(),
        )

    assert kept() == {"acme-new"}


def test_the_beat_task_applies_retention_and_a_second_run_finds_nothing(history):
    with time_machine.travel(history, tick=False):
        assert submissions_purge_expired() == 3
        assert submissions_purge_expired() == 0
    assert kept() == {"acme-30d-minus-1m", "acme-new", "globex-89d"}


def test_bad_arguments_are_clear_errors(db):
    with pytest.raises(CommandError, match="cannot be negative"):
        call_command("purge", "--older-than-days", "-1")
    with pytest.raises(CommandError, match="No tenant 't_nobody'"):
        call_command("purge", "--tenant", "t_nobody")
