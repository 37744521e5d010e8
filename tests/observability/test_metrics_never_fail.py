"""Counting never fails what it counts. In docker-compose.yml the metrics volume was created
owned by root and the app runs as its own user: every ingest stored the lead, then failed to
write its counter and answered 500 (found by make test-compose). A metric that cannot be
written is logged and dropped; the request and the send it counts go on."""

from __future__ import annotations

import logging

import pytest

from core import metrics
from delivery import dispatcher
from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryStatus
from ingest.models import Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def unwritable(monkeypatch):
    """Every metric as it behaves when its file under PROMETHEUS_MULTIPROC_DIR cannot be opened."""

    def refuse(*labels):
        raise PermissionError(13, "Permission denied", "/metrics/counter_7.db")

    for metric in (metrics.INGEST_REQUESTS, metrics.INGEST_LATENCY, metrics.DELIVERIES,
                   metrics.ATTEMPT_LATENCY, metrics.POISON_DELIVERIES):  # fmt: skip
        monkeypatch.setattr(metric, "labels", refuse)
    monkeypatch.setattr(metrics, "_reported", False)


def test_a_stored_lead_is_202_when_its_counter_cannot_be_written(signed, acme, unwritable, caplog):
    with caplog.at_level(logging.ERROR, logger="core.metrics"):
        first = signed.post(acme, {"email": "a@example.com"})
        second = signed.post(acme, {"email": "b@example.com"})

    assert (first.status_code, second.status_code) == (202, 202)
    assert Submission.objects.count() == 2
    # Said once per process, with the path that could not be written, not once per request.
    [said] = [r for r in caplog.records if r.name == "core.metrics"]
    assert "/metrics/counter_7.db" in said.getMessage()


def test_a_send_is_recorded_when_its_counter_cannot_be_written(signed, acme, receiver, unwritable):
    delivery_services.destination_create(tenant=acme.tenant, name="crm", url=receiver.url("/h"))
    signed.submit(acme, 2)

    assert dispatcher.drain() == 2

    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}
    assert len(receiver.at("/h")) == 2
