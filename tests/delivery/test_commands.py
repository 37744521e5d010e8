"""manage.py destinations / replay, as an operator or a script would run them."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from core import crypto
from delivery import dispatcher
from delivery.models import Delivery, DeliveryAttempt, DeliveryStatus, Destination
from tests.e2e.stack import verify_standard_webhook

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_json(*args: str):
    return json.loads(run(*args, "--json")[0])


def test_add_with_filters_headers_schedule_and_a_generated_signing_secret(acme, receiver):
    added = run_json(
        "destinations", "add", "t_acme", "crm", "--url", receiver.url("/hook"),
        "--header", "X-Team: sales", "--form-id", "contact_*", "--source", "wordpress",
        "--retry-schedule", "1,5", "--max-attempts", "3", "--signing-secret",
    )  # fmt: skip

    destination = Destination.objects.get(tenant=acme.tenant, name="crm")
    assert added["signing_secret"].startswith("whsec_")
    assert destination.signing_secret_encrypted != added["signing_secret"]
    assert crypto.decrypt(destination.signing_secret_encrypted) == added["signing_secret"]
    assert destination.config["headers"] == {"X-Team": "sales"}
    assert destination.filter["form_id"] == ["contact_*"]
    assert destination.filter["source"] == ["wordpress"]
    assert (destination.retry_schedule, destination.max_attempts) == ([1.0, 5.0], 3)
    listed = run_json("destinations", "list", "t_acme")
    assert [d["name"] for d in listed] == ["crm"]
    assert listed[0]["signed"] is True
    assert "signing_secret" not in json.dumps(listed)


def test_the_generated_secret_signs_what_the_receiver_gets(signed, acme, receiver):
    added = run_json(
        "destinations", "add", "t_acme", "crm", "--url", receiver.url("/hook"), "--signing-secret"
    )
    signed.submit(acme)

    dispatcher.drain()

    [received] = receiver.at("/hook")
    assert verify_standard_webhook(added["signing_secret"], received)


def test_the_auth_secret_is_read_from_the_environment_and_stored_encrypted(
    acme, receiver, monkeypatch
):
    monkeypatch.setenv("CRM_TOKEN", "tok-123456")
    run("destinations", "add", "t_acme", "crm", "--url", receiver.url("/h"),
        "--auth-mode", "bearer", "--auth-secret-env", "CRM_TOKEN")  # fmt: skip

    stored = Destination.objects.get(name="crm")
    assert "tok-123456" not in stored.auth_secret_encrypted
    assert crypto.decrypt(stored.auth_secret_encrypted) == "tok-123456"
    with pytest.raises(CommandError, match=r"\$MISSING_ENV is empty or unset"):
        run("destinations", "add", "t_acme", "other", "--url", receiver.url("/h"),
            "--auth-mode", "bearer", "--auth-secret-env", "MISSING_ENV")  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--url", "http://10.1.2.3/hook"], "private or reserved"),
        (["--url", "ftp://example.com/x"], "http:// or https://"),
        (["--url", "http://127.0.0.1:9/x", "--header", "nocolon"], "NAME:VALUE"),
        (["--url", "http://127.0.0.1:9/x", "--header", "Authorization: x"], "set by FormBridge"),
        (["--url", "http://127.0.0.1:9/x", "--mapping", "payload.[["], "does not compile"),
        (["--url", "http://127.0.0.1:9/x", "--retry-schedule", "5,soon"], "separated by commas"),
    ],
)
def test_add_refuses_bad_input_and_stores_nothing(acme, arguments, message):
    with pytest.raises(CommandError, match=message):
        run("destinations", "add", "t_acme", "bad", *arguments)

    assert not Destination.objects.filter(name="bad").exists()


def test_unknown_tenant_and_destination_are_clear_errors(acme):
    with pytest.raises(CommandError, match="t_nope"):
        run("destinations", "list", "t_nope")
    with pytest.raises(CommandError, match="No destination 'ghost' for t_acme"):
        run("destinations", "disable", "t_acme", "ghost")


def test_disable_parks_deliveries_and_enable_sends_them(signed, acme, receiver):
    run("destinations", "add", "t_acme", "crm", "--url", receiver.url("/hook"))
    disabled = run_json("destinations", "disable", "t_acme", "crm")
    signed.submit(acme)  # routes skip a disabled destination: nothing is queued for it
    assert disabled["enabled"] is False
    assert Delivery.objects.count() == 0

    run("destinations", "enable", "t_acme", "crm")
    signed.submit(acme)
    dispatcher.drain()

    assert Delivery.objects.get().status == DeliveryStatus.SUCCEEDED
    assert len(receiver.at("/hook")) == 1


def test_test_reports_the_attempt_and_fails_loudly(acme, receiver):
    run("destinations", "add", "t_acme", "crm", "--url", receiver.url("/hook"))
    receiver.set("/hook", [(200, {}, b"thanks"), 503])

    result = run_json("destinations", "test", "t_acme", "crm")
    assert (result["outcome"], result["status_code"], result["response_body"]) == (
        "success",
        200,
        "thanks",
    )
    assert receiver.at("/hook")[0].event["event_type"] == "formbridge.test"
    with pytest.raises(CommandError, match="test delivery to crm failed: HTTP 503"):
        run("destinations", "test", "t_acme", "crm")
    assert DeliveryAttempt.objects.count() == 0  # a test is not a delivery


def test_replay_dead_dry_run_counts_then_replays_with_a_progress_bar(signed, acme, receiver):
    run("destinations", "add", "t_acme", "crm", "--url", receiver.url("/hook"),
        "--max-attempts", "1")  # fmt: skip
    receiver.set("/hook", [500])
    signed.submit(acme, n=3)
    dispatcher.drain()
    assert Delivery.objects.filter(status=DeliveryStatus.DEAD).count() == 3

    counted = run_json("replay", "--tenant", "t_acme", "--dry-run")
    assert counted == {"requeued": 3, "created": 0, "dry_run": True}
    assert Delivery.objects.filter(status=DeliveryStatus.DEAD).count() == 3

    receiver.set("/hook", [200])
    out, err = run("replay", "--tenant", "t_acme")
    assert out.strip() == "requeued 3 deliveries."
    assert "replaying [" in err and "3/3" in err
    dispatcher.drain()

    assert Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 3
    assert DeliveryAttempt.objects.count() == 6
    assert len(receiver.at("/hook")) == 6


def test_replay_to_a_new_destination_creates_the_missing_deliveries(signed, acme, receiver):
    signed.submit(acme, n=2)  # no destination yet: nothing to deliver
    run("destinations", "add", "t_acme", "late", "--url", receiver.url("/late"))

    result = run_json("replay", "--tenant", "t_acme", "--destination", "late", "--status", "all")
    dispatcher.drain()

    assert result == {"requeued": 0, "created": 2, "dry_run": False}
    assert sorted(r.event["payload"]["n"] for r in receiver.at("/late")) == [0, 1]


def test_replay_argument_errors(acme):
    with pytest.raises(CommandError, match="--destination needs --tenant"):
        run("replay", "--destination", "crm")
    with pytest.raises(CommandError, match="ISO 8601 with a zone"):
        run("replay", "--tenant", "t_acme", "--since", "yesterday")
    with pytest.raises(CommandError, match="No destination 'ghost'"):
        run("replay", "--tenant", "t_acme", "--destination", "ghost")


def test_replay_is_scoped_to_the_tenant(signed, acme, globex, receiver):
    for tenant in ("t_acme", "t_globex"):
        run("destinations", "add", tenant, "crm", "--url", receiver.url(f"/{tenant}"),
            "--max-attempts", "1")  # fmt: skip
    receiver.set("/t_acme", [500])
    receiver.set("/t_globex", [500])
    signed.submit(acme)
    signed.submit(globex)
    dispatcher.drain()

    result = run_json("replay", "--tenant", "t_globex")

    assert result["requeued"] == 1
    statuses = dict(Delivery.objects.values_list("tenant_id", "status"))
    assert statuses == {"t_acme": DeliveryStatus.DEAD, "t_globex": DeliveryStatus.PENDING}


def test_delete_cancels_open_deliveries_and_frees_the_name(signed, acme, receiver):
    run("destinations", "add", "t_acme", "crm", "--url", receiver.url("/hook"))
    receiver.set("/hook", [500])
    signed.submit(acme)
    dispatcher.drain()

    result = run_json("destinations", "delete", "t_acme", "crm")

    assert result == {"deleted": "crm", "cancelled_deliveries": 1}
    assert Delivery.objects.get().status == DeliveryStatus.CANCELLED
    assert run_json("destinations", "list", "t_acme") == []
    run("destinations", "add", "t_acme", "crm", "--url", receiver.url("/hook"))
