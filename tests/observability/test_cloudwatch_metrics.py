"""The backlog as CloudWatch metrics: embedded-metric-format lines on the process's stdout, as
the awslogs driver ships them and CloudWatch Logs extracts them (the worker service scales on
formbridge_deliveries_due; the alarms watch the oldest due age and the dead letters)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryStatus
from delivery.tasks import publish_backlog
from tests.settings_probe import settings_under

pytestmark = pytest.mark.django_db


def emf_lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith('{"_aws"')]


def test_publishes_nothing_unless_a_namespace_is_set(settings, capfd):
    settings.CLOUDWATCH_METRICS_NAMESPACE = ""

    assert publish_backlog() is False
    assert emf_lines(capfd.readouterr().out) == []


def test_backlog_as_one_emf_line(settings, capfd, signed, acme, receiver):
    settings.CLOUDWATCH_METRICS_NAMESPACE = "FormBridge"
    settings.CLOUDWATCH_METRICS_ENVIRONMENT = "staging"
    for name in ("crm", "sheet", "chat"):
        delivery_services.destination_create(
            tenant=acme.tenant, name=name, config={"url": receiver.url(f"/{name}")}
        )
    assert signed.post(acme, {"email": "a@example.com"}).status_code == 202
    now = timezone.now()
    chat = Delivery.objects.filter(destination__name="chat")
    sheet = Delivery.objects.filter(destination__name="sheet")
    sheet.update(status=DeliveryStatus.RETRYING, next_attempt_at=now - timedelta(minutes=2))
    chat.update(status=DeliveryStatus.DEAD, next_attempt_at=None, updated_at=now)
    capfd.readouterr()

    assert publish_backlog() is True

    lines = emf_lines(capfd.readouterr().out)
    (line,) = [each for each in lines if "Destination" not in each]  # the backlog's own line
    meta = line["_aws"]["CloudWatchMetrics"][0]
    assert meta["Namespace"] == "FormBridge"
    assert meta["Dimensions"] == [["Environment"]]
    assert {m["Name"]: m["Unit"] for m in meta["Metrics"]} == {
        "formbridge_deliveries_due": "Count",
        "formbridge_oldest_due_delivery_age_seconds": "Seconds",
        "formbridge_deliveries_dead": "Count",
        "formbridge_dead_letters": "Count",
    }
    assert abs(line["_aws"]["Timestamp"] / 1000 - timezone.now().timestamp()) < 60
    assert line["Environment"] == "staging"
    assert line["formbridge_deliveries_due"] == 2  # crm (new) and sheet (retry due)
    assert 119 <= line["formbridge_oldest_due_delivery_age_seconds"] <= 150
    assert line["formbridge_deliveries_dead"] == 1
    assert line["formbridge_dead_letters"] == 1  # died within the period


def test_dead_letters_count_only_the_last_period(settings, capfd, signed, acme, receiver):
    settings.CLOUDWATCH_METRICS_NAMESPACE = "FormBridge"
    settings.CLOUDWATCH_METRICS_PERIOD_SECONDS = 60
    delivery_services.destination_create(
        tenant=acme.tenant, name="crm", config={"url": receiver.url("/crm")}
    )
    assert signed.post(acme, {"email": "a@example.com"}).status_code == 202
    Delivery.objects.update(
        status=DeliveryStatus.DEAD,
        next_attempt_at=None,
        updated_at=timezone.now() - timedelta(minutes=5),
    )
    capfd.readouterr()

    publish_backlog()

    (line,) = emf_lines(capfd.readouterr().out)
    assert line["formbridge_deliveries_dead"] == 1
    assert line["formbridge_dead_letters"] == 0


def test_the_beat_schedules_it_only_when_a_namespace_is_set():
    for namespace, expected in (("FormBridge", True), ("", False)):
        shown = settings_under({"CLOUDWATCH_METRICS_NAMESPACE": namespace}, "CELERY_BEAT_SCHEDULE")
        assert ("publish-backlog-metrics" in shown["CELERY_BEAT_SCHEDULE"]) is expected


def test_a_worker_without_the_namespace_publishes_what_beat_scheduled(settings, capfd):
    """Beat schedules the task; a worker runs it. The AWS bundle gave only beat the variable,
    and the worker published nothing: the backlog alarm sat in ALARM and the worker never
    scaled. The schedule now carries beat's settings to whichever process runs it."""
    beat = settings_under(
        {"CLOUDWATCH_METRICS_NAMESPACE": "FormBridge", "CLOUDWATCH_METRICS_ENVIRONMENT": "prod"},
        "CELERY_BEAT_SCHEDULE",
    )
    entry = beat["CELERY_BEAT_SCHEDULE"]["publish-backlog-metrics"]
    settings.CLOUDWATCH_METRICS_NAMESPACE = ""  # the worker's own environment
    capfd.readouterr()

    assert publish_backlog(*entry.get("args", ()), **entry.get("kwargs", {})) is True

    (line,) = emf_lines(capfd.readouterr().out)
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "FormBridge"
    assert line["Environment"] == "prod"


def test_each_failing_destination_gets_its_own_figure(settings, capfd, signed, acme, receiver):
    """One destination failing while the rest deliver moved no alarm: the dead letters come
    hours later and the backlog age stays low. Each destination with retrying deliveries is a
    figure of its own, which the destination alarm watches (the worst one)."""
    settings.CLOUDWATCH_METRICS_NAMESPACE = "FormBridge"
    for name in ("crm", "sheet"):
        delivery_services.destination_create(
            tenant=acme.tenant, name=name, config={"url": receiver.url(f"/{name}")}
        )
    for n in range(3):
        assert signed.post(acme, {"n": n}).status_code == 202
    later = timezone.now() + timedelta(minutes=5)
    Delivery.objects.filter(destination__name="crm").update(
        status=DeliveryStatus.RETRYING, next_attempt_at=later
    )
    capfd.readouterr()

    publish_backlog()

    lines = emf_lines(capfd.readouterr().out)
    per_destination = {
        line["Destination"]: line["formbridge_destination_deliveries_retrying"]
        for line in lines
        if "Destination" in line
    }
    assert per_destination == {"t_acme/crm": 3}
    [meta] = next(line for line in lines if "Destination" in line)["_aws"]["CloudWatchMetrics"]
    assert meta["Dimensions"] == [["Destination", "Environment"]]
