"""The pre-aggregated daily figures move with the rows they count, in the same transactions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from delivery import dispatcher
from delivery import services as delivery_services
from delivery.inbox.services import inbox_ack, inbox_read
from delivery.models import Delivery, Destination
from reporting.models import DailyLatency, DailyMetric
from reporting.services import latency_bucket

pytestmark = pytest.mark.django_db


def totals(**filters) -> dict:
    return DailyMetric.objects.filter(**filters).aggregate(
        submissions=Sum("submissions"),
        succeeded=Sum("deliveries_succeeded"),
        retried=Sum("deliveries_retried"),
        dead=Sum("deliveries_dead"),
    )


def test_each_accepted_submission_is_counted_once_per_form(signed, acme):
    for form in ("contact", "contact", "newsletter"):
        assert signed.post(acme, {"form_id": form, "payload": {"n": 1}}).status_code == 202
    duplicate = {"submission_id": "dup-1", "form_id": "contact", "payload": {}}
    assert signed.post(acme, duplicate).status_code == 202
    assert signed.post(acme, duplicate).status_code == 200  # not counted again

    today = timezone.now().date()
    assert totals(tenant_id="t_acme", day=today, form_id="contact")["submissions"] == 3
    assert totals(tenant_id="t_acme", day=today, form_id="newsletter")["submissions"] == 1


def test_delivery_outcomes_and_latency_are_counted(signed, acme, receiver):
    for name, path in (("ok", "/ok"), ("flaky", "/flaky"), ("gone", "/gone")):
        delivery_services.destination_create(
            tenant=acme.tenant, name=name, config={"url": receiver.url(path)}
        )
    receiver.set("/flaky", [500, 200])
    receiver.set("/gone", [404])
    assert signed.post(acme, {"form_id": "contact", "payload": {}}).status_code == 202

    dispatcher.drain()
    assert totals(form_id="contact") == {"submissions": 1, "succeeded": 1, "retried": 1, "dead": 1}
    Delivery.objects.filter(status="retrying").update(next_attempt_at=timezone.now())
    dispatcher.drain()

    assert totals(form_id="contact") == {"submissions": 1, "succeeded": 2, "retried": 1, "dead": 1}
    latency = DailyLatency.objects.filter(tenant_id="t_acme", form_id="contact")
    assert latency.aggregate(n=Sum("count"))["n"] == 2


def test_inbox_acks_and_exhausted_leases_are_counted(signed, acme):
    inbox = delivery_services.destination_create(
        tenant=acme.tenant, name="inbox", kind="inbox", max_attempts=1
    ).destination
    for n in range(3):
        assert signed.post(acme, {"form_id": "f", "payload": {"n": n}}).status_code == 202
    page = inbox_read(destination=inbox, limit=2, lease_seconds=1)
    inbox_ack(tenant=acme.tenant, destination=inbox, event_ids=[page.events[0]["event_id"]])
    # The other leased event is leased again after expiry: it has used its one attempt, so dead.
    inbox_read(destination=inbox, limit=10, lease_seconds=60, now=timezone.now() + timedelta(5))

    assert Destination.objects.get(name="inbox").kind == "inbox"
    assert totals(form_id="f") == {"submissions": 3, "succeeded": 1, "retried": 0, "dead": 1}


@pytest.mark.parametrize(
    ("milliseconds", "bucket"),
    [(0, 100), (100, 100), (101, 250), (59_000, 60_000), (36_000_001, 0)],
)
def test_latency_buckets(milliseconds, bucket):
    assert latency_bucket(milliseconds) == bucket
