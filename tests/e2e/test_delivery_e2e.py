"""Fan-out end to end: a real Celery worker and beat on PostgreSQL + Redis, a real HTTP receiver.

One submission goes to three destinations: healthy; 500 twice then 200; always 500. Then the
broken receiver is fixed and `manage.py replay --status dead` delivers what had died.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from delivery import services as delivery_services
from delivery.models import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus
from tests.e2e.stack import (
    verify_standard_webhook,
    wait_until,
)
from tests.factories import tenant_with_secret

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def statuses(submission_id: str) -> dict[str, str]:
    return dict(
        Delivery.objects.filter(submission__submission_id=submission_id).values_list(
            "destination__name", "status"
        )
    )


def test_fan_out_retries_dead_letters_and_replay(signed, receiver, celery_stack):
    acme = tenant_with_secret("t_acme")
    receiver.set("/healthy", [200])
    receiver.set("/flaky", [500, 500, 200])
    receiver.set("/broken", [500])
    secrets = {}
    for name in ("healthy", "flaky", "broken"):
        created = delivery_services.destination_create(
            tenant=acme.tenant,
            name=name,
            config={"url": receiver.url(f"/{name}")},
            generate_signing_secret=True,
            retry_schedule=[0.2, 0.2],  # three attempts, seconds apart
        )
        secrets[name] = created.signing_secret

    response = signed.post(
        acme,
        {
            "submission_id": "sub-e2e",
            "form_id": "contact",
            "payload": {"email": "jane@example.com"},
        },
    )

    assert response.status_code == 202
    assert response.json()["deliveries"] == 3
    wait_until(
        lambda: (
            statuses("sub-e2e") == {"healthy": "succeeded", "flaky": "succeeded", "broken": "dead"}
        ),
        seconds=45,
        what=f"final states (now {statuses('sub-e2e')}); log: {celery_stack.read_text()[-2000:]}",
    )

    attempts = {
        name: list(
            DeliveryAttempt.objects.filter(
                delivery__submission__submission_id="sub-e2e", delivery__destination__name=name
            ).values_list("number", "outcome", "response_status")
        )
        for name in ("healthy", "flaky", "broken")
    }
    assert attempts == {
        "healthy": [(1, AttemptOutcome.SUCCESS, 200)],
        "flaky": [
            (1, AttemptOutcome.RETRYABLE, 500),
            (2, AttemptOutcome.RETRYABLE, 500),
            (3, AttemptOutcome.SUCCESS, 200),
        ],
        "broken": [
            (1, AttemptOutcome.RETRYABLE, 500),
            (2, AttemptOutcome.RETRYABLE, 500),
            (3, AttemptOutcome.RETRYABLE, 500),
        ],
    }
    dead = Delivery.objects.get(submission__submission_id="sub-e2e", destination__name="broken")
    assert dead.last_error == "gave up after 3 attempts: HTTP 500"
    assert dead.attempts == 3

    # What the receivers saw: the canonical event, signed per Standard Webhooks.
    for name in ("healthy", "flaky", "broken"):
        seen = receiver.at(f"/{name}")
        assert all(verify_standard_webhook(secrets[name], r) for r in seen)
        assert not any(verify_standard_webhook(secrets["healthy"], r) for r in seen) or (
            name == "healthy"
        )
        delivery = Delivery.objects.get(submission__submission_id="sub-e2e", destination__name=name)
        assert {r.headers["Idempotency-Key"] for r in seen} == {str(delivery.id)}
        assert len({r.headers["webhook-id"] for r in seen}) == 1  # stable across retries
        assert seen[0].headers["X-FormBridge-Submission-Id"] == "sub-e2e"
        assert seen[0].headers["User-Agent"].startswith("FormBridge/")
        assert seen[0].event["payload"] == {"email": "jane@example.com"}
        assert seen[0].event["form_id"] == "contact"
    assert [len(receiver.at(f"/{n}")) for n in ("healthy", "flaky", "broken")] == [1, 3, 3]

    # The receiver is fixed; an operator replays the dead letters.
    receiver.set("/broken", [200])
    out = io.StringIO()
    call_command("replay", "--status", "dead", "--json", stdout=out)

    assert json.loads(out.getvalue()) == {"requeued": 1, "created": 0, "dry_run": False}
    wait_until(
        lambda: statuses("sub-e2e")["broken"] == DeliveryStatus.SUCCEEDED,
        seconds=30,
        what="the replayed delivery",
    )
    replayed = DeliveryAttempt.objects.filter(delivery=dead).order_by("number").last()
    assert (replayed.number, replayed.outcome, replayed.response_status) == (
        4,
        AttemptOutcome.SUCCESS,
        200,
    )
    assert len(receiver.at("/healthy")) == 1  # replay touched only the dead one
