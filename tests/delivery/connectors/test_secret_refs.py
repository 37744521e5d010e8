"""Secret references (aws-sm://<arn>#<key>) against moto's Secrets Manager on loopback: resolved
when used, never stored, and a rotation takes effect on the next send or signature check."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.test import Client as DjangoClient

from core import secret_refs
from core.errors import Invalid
from delivery import dispatcher
from delivery import services as delivery_services
from delivery.models import DeliveryStatus
from ingest.models import Submission
from sources import services as source_services
from tests.vendors import aws_json_error

from .conftest import assert_secret_kept, attempts_of

pytestmark = pytest.mark.django_db


# Where t_acme's own secrets live (SECRET_REFS_PREFIX/<tenant id>/): references bind to it.
OWN = "formbridge/refs/t_acme/"


def reference(client, name: str, values: dict) -> str:
    arn = client.create_secret(Name=OWN + name, SecretString=json.dumps(values))["ARN"]
    return f"aws-sm://{arn}#{next(iter(values))}"


def rotate(client, name: str, values: dict) -> None:
    client.put_secret_value(SecretId=OWN + name, SecretString=json.dumps(values))


def sent_once_then_rotated(secrets, acme, receiver, signed) -> None:
    """A bearer destination whose token is a reference: one submission delivered with it, then
    the token rotated in Secrets Manager (tok-version-one-1234 -> tok-version-two-5678)."""
    ref = reference(secrets, "crm-token", {"token": "tok-version-one-1234"})
    delivery_services.destination_create(
        tenant=acme.tenant, name="crm", config={"url": receiver.url("/hook")},
        auth_mode="bearer", auth_secret=ref,
    )  # fmt: skip
    signed.submit(acme)
    dispatcher.drain()
    rotate(secrets, "crm-token", {"token": "tok-version-two-5678"})


def test_a_destination_sends_with_the_referenced_secret_and_follows_a_rotation(
    secrets, acme, receiver, signed, logs
):
    sent_once_then_rotated(secrets, acme, receiver, signed)
    # The receiver now refuses the old token; the cached one is refused once, read again, and
    # the same attempt succeeds with the new one.
    receiver.set("/hook", [401, 200])

    signed.submit(acme)
    dispatcher.drain()

    sent = [r.headers["Authorization"] for r in receiver.at("/hook")]
    assert sent == [
        "Bearer tok-version-one-1234", "Bearer tok-version-one-1234", "Bearer tok-version-two-5678",
    ]  # fmt: skip
    second = Submission.objects.order_by("received_at").last().deliveries.get()
    assert second.status == DeliveryStatus.SUCCEEDED
    assert len(attempts_of(second)) == 1
    assert_secret_kept("tok-version-one-1234", logs)
    assert_secret_kept("tok-version-two-5678", logs)


def test_with_no_cache_the_next_send_reads_the_rotated_value(
    secrets, acme, receiver, signed, settings
):
    settings.SECRET_REF_CACHE_SECONDS = 0
    sent_once_then_rotated(secrets, acme, receiver, signed)

    signed.submit(acme)
    dispatcher.drain()

    assert [r.headers["Authorization"] for r in receiver.at("/hook")] == [
        "Bearer tok-version-one-1234", "Bearer tok-version-two-5678",
    ]  # fmt: skip


def test_an_unreadable_reference_fails_the_attempt_not_the_batch(
    secrets, aws_stack, acme, receiver, signed
):
    missing = "aws-sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:formbridge/refs/t_acme/gone-AbCdEf#token"
    delivery_services.destination_create(
        tenant=acme.tenant, name="gone", config={"url": receiver.url("/gone")},
        auth_mode="bearer", auth_secret=missing,
    )  # fmt: skip
    ref = reference(secrets, "ok-token", {"token": "tok-fine-123456"})
    delivery_services.destination_create(
        tenant=acme.tenant, name="fine", config={"url": receiver.url("/fine")},
        auth_mode="bearer", auth_secret=ref, retry_schedule=[60],
    )  # fmt: skip

    signed.submit(acme)
    dispatcher.drain()

    by_name = {d.destination.name: d for d in Submission.objects.get().deliveries.all()}
    assert by_name["gone"].status == DeliveryStatus.DEAD
    assert "ResourceNotFoundException" in by_name["gone"].last_error
    assert by_name["fine"].status == DeliveryStatus.SUCCEEDED
    assert receiver.at("/gone") == []
    # Secrets Manager down is transient: the delivery waits for its retry.
    delivery_services.destination_delete(destination=by_name["gone"].destination)
    secret_refs.forget()
    aws_stack.proxy.fail_next(*[aws_json_error(500, "InternalServiceError", "down")] * 2)
    signed.submit(acme)
    dispatcher.drain()
    latest = (
        Submission.objects.order_by("received_at").last().deliveries.get(destination__name="fine")
    )
    assert latest.status == DeliveryStatus.RETRYING
    assert "InternalServiceError" in latest.last_error


def test_a_reference_is_checked_for_its_form_on_save(acme):
    with pytest.raises(Invalid) as refused:
        delivery_services.destination_create(
            tenant=acme.tenant, name="crm", config={"url": "https://93.184.216.34/h"},
            auth_mode="bearer", auth_secret="aws-sm://",
        )  # fmt: skip
    assert refused.value.field == "auth_secret"
    # A Slack destination's token check is for plain tokens: a reference is resolved later.
    created = delivery_services.destination_create(
        tenant=acme.tenant, name="slack", kind="slack", config={"channel": "C0SALES"},
        auth_secret="aws-sm://formbridge/refs/t_acme/slack-bot#token",
    )  # fmt: skip
    assert created.destination.auth_secret_encrypted


def github_post(client: DjangoClient, url: str, secret: str, delivery: str):
    body = json.dumps({"action": "opened", "n": delivery}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        url, data=body, content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature, HTTP_X_GITHUB_DELIVERY=delivery,
        HTTP_X_GITHUB_EVENT="issues",
    )  # fmt: skip


def test_a_source_verifies_with_the_referenced_secret_and_follows_a_rotation(secrets, acme, client):
    ref = reference(secrets, "github-hook", {"secret": "gh-secret-one"})
    source = source_services.source_create(
        tenant=acme.tenant, name="gh", preset="github", secret=ref
    ).source
    url = f"/v1/sources/{source.token}"

    first = github_post(client, url, "gh-secret-one", "d-1")
    rotate(secrets, "github-hook", {"secret": "gh-secret-two"})
    time.sleep(1.1)  # credentials are fetched again at most once a second per source
    second = github_post(client, url, "gh-secret-two", "d-2")  # cached one fails, read again
    stale = github_post(client, url, "gh-secret-one", "d-3")

    assert (first.status_code, second.status_code, stale.status_code) == (202, 202, 401)
    assert Submission.objects.filter(source="github").count() == 2


def test_a_source_whose_reference_cannot_be_read_answers_503(secrets, acme, client):
    source = source_services.source_create(
        tenant=acme.tenant, name="gh", preset="github",
        secret="aws-sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:formbridge/refs/t_acme/nope-AbCdEf#x",
    ).source  # fmt: skip

    answer = github_post(client, f"/v1/sources/{source.token}", "whatever", "d-1")

    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "secret_unavailable"
    assert not Submission.objects.exists()
