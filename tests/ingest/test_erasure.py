"""Per-record erasure (GDPR Art. 17): the API, the command and the admin action."""

from __future__ import annotations

import json
import logging
from io import StringIO

import pytest
from django.core.management import call_command

from delivery import dispatcher
from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryAttempt, DeliveryStatus
from ingest.models import Submission
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

LEAD = {"email": "Jane@Example.com", "name": "Jane Doe", "phone": "+44 20 7946 0000"}
STORED = {"n": 0, **LEAD}  # as SignedClient.submit sends it
OTHER = {"n": 0, "email": "someone@else.org"}


@pytest.fixture
def delivered(signed, acme, receiver):
    """A lead delivered to a webhook (whose answer echoes it) and waiting in the inbox."""
    delivery_services.destination_create(
        tenant=acme.tenant, name="crm", config={"url": receiver.url("/hook")}
    )
    delivery_services.destination_create(tenant=acme.tenant, name="inbox", kind="inbox")
    receiver.set("/hook", [(200, {"X-Echo": "Jane"}, b"got Jane Doe")])
    signed.submit(acme, payload=LEAD, submission_id="lead-1")
    signed.submit(acme, payload={"email": "someone@else.org"}, submission_id="lead-2")
    dispatcher.drain()
    return "lead-1"


def assert_erased(submission_id: str) -> Submission:
    row = Submission.objects.get(submission_id=submission_id)
    assert (row.payload, row.attachments, row.ip, row.payload_sha256) == ({}, [], None, "")
    assert row.erased_at is not None and row.erased_by
    attempts = DeliveryAttempt.objects.filter(delivery__submission=row)
    assert attempts.exists()
    assert all(a.response_body == "" and a.response_headers == {} for a in attempts)
    inbox = Delivery.objects.get(submission=row, destination__kind="inbox")
    assert inbox.status == DeliveryStatus.CANCELLED
    return row


def test_delete_erases_keeps_a_tombstone_and_a_resend_is_a_duplicate(
    signed, acme, api, delivered, caplog
):
    admin = api(acme, scopes=("admin", "read"))
    caplog.set_level(logging.INFO, logger="ingest.erasure")

    response = admin.delete(f"/v1/submissions/{delivered}")

    assert response.status_code == 200, response.content
    assert response.json() == {"submission_id": delivered, "status": "erased"}
    row = assert_erased(delivered)
    assert row.erased_by.startswith("api key fb_")
    assert_error(admin.get(f"/v1/submissions/{delivered}"), 404, "not_found")
    listed = [s["submission_id"] for s in admin.get("/v1/submissions").json()["items"]]
    assert listed == ["lead-2"]
    resend = signed.post(acme, {"payload": LEAD, "submission_id": delivered})
    assert resend.status_code == 200 and resend.json()["status"] == "duplicate"
    assert Submission.objects.filter(tenant_id="t_acme").count() == 2
    assert Submission.objects.get(submission_id=delivered).payload == {}
    assert_error(admin.post(f"/v1/submissions/{delivered}/replay"), 404, "not_found")
    again = admin.delete(f"/v1/submissions/{delivered}")
    assert again.status_code == 200 and again.json()["status"] == "erased"
    [line] = [r for r in caplog.records if r.getMessage() == "submission erased"]
    assert line.submission_id == delivered and line.erased_by.startswith("api key")
    assert "Jane" not in json.dumps(line.__dict__, default=str)
    assert Submission.objects.get(submission_id="lead-2").payload == OTHER


def test_delete_needs_the_admin_scope_and_stays_in_its_tenant(acme, globex, api, delivered):
    read_only = api(acme, scopes=("read",))
    assert_error(read_only.delete(f"/v1/submissions/{delivered}"), 403, "insufficient_scope")
    other = api(globex, scopes=("admin",))
    assert_error(other.delete(f"/v1/submissions/{delivered}"), 404, "not_found")
    assert Submission.objects.get(submission_id=delivered).payload == STORED


def test_an_erased_submission_is_not_replayed_by_an_operator(acme, delivered, receiver):
    row = Submission.objects.get(submission_id=delivered)
    api_result = delivery_services.deliveries_replay(
        tenant=acme.tenant, submission_ids=[delivered], status="all"
    )
    assert api_result.requeued == 1  # before: its delivered webhook (the inbox one is pending)
    dispatcher.drain()
    call_command("erase", "--tenant", "t_acme", "--submission", delivered, stdout=StringIO())

    after = delivery_services.deliveries_replay(
        tenant=acme.tenant, submission_ids=[delivered], status="all"
    )

    assert after.requeued == 0
    assert not Delivery.objects.filter(submission=row, next_attempt_at__isnull=False).exists()


def test_the_command_erases_by_field_value_with_a_dry_run_first(acme, delivered):
    out = StringIO()
    call_command(
        "erase",
        "--tenant",
        "t_acme",
        "--field",
        "email=jane@example.com",
        "--dry-run",
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["submission_ids"] == [delivered]
    assert Submission.objects.get(submission_id=delivered).payload == STORED

    out = StringIO()
    call_command(
        "erase", "--tenant", "t_acme", "--field", "email=jane@example.com", "--json", stdout=out
    )

    result = json.loads(out.getvalue())
    assert result["submission_ids"] == [delivered] and result["dry_run"] is False
    assert result["deliveries_cancelled"] == 1 and result["attempts_cleared"] == 1
    assert_erased(delivered).erased_by.startswith("operator ")
    assert Submission.objects.get(submission_id="lead-2").payload == OTHER


@pytest.mark.parametrize("field", ["email", "=x", "a b=c", "'; drop=1"])
def test_the_command_refuses_a_field_it_cannot_match(acme, field):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("erase", "--tenant", "t_acme", "--field", field, stdout=StringIO())


def test_the_admin_erase_action(client, acme, delivered, admin_user):
    client.force_login(admin_user)
    row = Submission.objects.get(submission_id=delivered)

    response = client.post(
        "/admin/ingest/submission/",
        {"action": "erase", "_selected_action": [str(row.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Erased 1 submission" in response.content.decode()
    assert assert_erased(delivered).erased_by == "operator admin (admin)"
