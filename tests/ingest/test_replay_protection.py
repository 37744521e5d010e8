"""A signed request replayed byte for byte inside the timestamp window is refused, and creates
nothing; a request that failed may be sent again as it was."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import time_machine

from ingest.models import SeenSignature, Submission
from ingest.storage import signature_key
from ingest.tasks import seen_signatures_expire
from tests.conftest import assert_error
from tests.signing import signed_headers

pytestmark = pytest.mark.django_db


def send(client, created, body: bytes, headers: dict):
    return client.post("/v1/ingest", data=body, content_type="application/json", headers=headers)


def test_a_byte_identical_replay_is_refused_and_stores_nothing(client, acme):
    body = json.dumps({"email": "jane@example.com"}).encode()  # no submission_id: no idempotency
    headers = signed_headers(tenant_id="t_acme", secret=acme.signing_secret, body=body)

    first = send(client, acme, body, headers)
    replay = send(client, acme, body, headers)

    assert first.status_code == 202
    body_of_replay = assert_error(replay, 409, "replayed_request")
    assert body_of_replay["submission_id"] == first.json()["submission_id"]
    assert Submission.objects.count() == 1


def test_the_same_body_signed_anew_is_a_new_request(client, acme):
    body = json.dumps({"email": "jane@example.com"}).encode()
    now = int(time.time())

    for timestamp in (str(now), str(now - 1)):
        headers = signed_headers(
            tenant_id="t_acme", secret=acme.signing_secret, body=body, timestamp=timestamp
        )
        assert send(client, acme, body, headers).status_code == 202

    assert Submission.objects.count() == 2


def test_a_failed_request_can_be_retried_as_it_was(client, acme):
    body = b'{"not json'
    headers = signed_headers(tenant_id="t_acme", secret=acme.signing_secret, body=body)

    assert_error(send(client, acme, body, headers), 400, "invalid_json")
    assert_error(send(client, acme, body, headers), 400, "invalid_json")  # not 409


def test_an_unverified_request_never_claims_a_signature(client, acme):
    body = b'{"a": 1}'
    good = signed_headers(tenant_id="t_acme", secret=acme.signing_secret, body=body)
    tampered_body = b'{"a": 2}'

    assert_error(send(client, acme, tampered_body, good), 401, "invalid_signature")
    assert send(client, acme, body, good).status_code == 202


def test_signatures_are_forgotten_after_the_window(client, acme, settings):
    body = b'{"a": 1}'
    headers = signed_headers(tenant_id="t_acme", secret=acme.signing_secret, body=body)
    assert send(client, acme, body, headers).status_code == 202
    [seen] = SeenSignature.objects.all()
    assert seen.key == signature_key("t_acme", headers["X-Signature"])
    assert headers["X-Signature"] not in seen.key  # a digest, not the signature

    window = timedelta(seconds=2 * settings.INGEST_TIMESTAMP_TOLERANCE_SECONDS + 5)
    with time_machine.travel(seen.seen_at + window - timedelta(seconds=1)):
        assert seen_signatures_expire() == 0
    with time_machine.travel(seen.seen_at + window + timedelta(seconds=1)):
        assert seen_signatures_expire() == 1
    assert not SeenSignature.objects.exists()


def test_the_longest_tenant_id_still_fits_its_signature_key(client):
    from tests.factories import tenant_with_secret

    longest = tenant_with_secret("t" * 63)  # Tenant ids are at most 63 characters
    body = b'{"a": 1}'
    headers = signed_headers(tenant_id=longest.tenant.id, secret=longest.signing_secret, body=body)

    assert send(client, longest, body, headers).status_code == 202
    assert_error(send(client, longest, body, headers), 409, "replayed_request")
