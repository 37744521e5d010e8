"""Payloads over the inline threshold and uploaded files live in the attachments storage: the row
keeps key, size, SHA-256 and type; destinations get a signed, expiring link or the bytes
inline (their choice); erase and retention purge delete the objects with their rows."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from core import blobs
from delivery import dispatcher
from delivery import services as delivery_services
from ingest.models import Submission
from tests.conftest import assert_error, files_in
from webforms import services as form_services

BIG = {"notes": "x" * 5000, "email": "ada@example.com"}


@pytest.fixture(autouse=True)
def _small_inline_limit(storage_dir, settings):
    settings.PAYLOAD_INLINE_MAX_BYTES = 1024


objects_in = files_in


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_a_large_payload_is_kept_in_the_storage_not_the_row(signed, acme, storage_dir):
    response = signed.post(acme, {"submission_id": "big-1", "payload": BIG})

    assert response.status_code == 202, response.content
    row = Submission.objects.get()
    assert row.payload == {}
    encoded = json.dumps(BIG, separators=(",", ":")).encode()
    key = row.payload_object.pop("key")
    assert re.fullmatch(r"t_acme/big-1/payload-[A-Za-z0-9]{8}\.json", key)
    assert row.payload_object == {
        "size": len(encoded),
        "sha256": hashlib.sha256(encoded).hexdigest(),
        "content_type": "application/json",
    }
    assert objects_in(storage_dir) == [key]
    assert json.loads((storage_dir / key).read_bytes()) == BIG


def test_a_small_payload_stays_inline(signed, acme, storage_dir):
    signed.post(acme, {"payload": {"a": 1}})

    assert Submission.objects.get().payload_object is None
    assert objects_in(storage_dir) == []


def test_a_duplicate_leaves_no_second_object(signed, acme, storage_dir):
    signed.post(acme, {"submission_id": "big-1", "payload": BIG})
    again = signed.post(acme, {"submission_id": "big-1", "payload": BIG})

    assert again.json()["status"] == "duplicate"
    assert objects_in(storage_dir) == [Submission.objects.get().payload_object["key"]]


def test_a_refused_payload_leaves_no_object(signed, acme, api, storage_dir):
    api(acme, scopes=["admin"]).call("put", "/v1/event-types/big/schema", {"required": ["missing"]})

    response = signed.post(acme, {"event_type": "big", "payload": BIG})

    assert_error(response, 422, "schema_violation")
    assert objects_in(storage_dir) == []


def test_the_api_links_the_payload_and_the_link_serves_it(signed, acme, api, client):
    signed.post(acme, {"submission_id": "big-1", "payload": BIG})

    detail = api(acme, scopes=["read"]).get("/v1/submissions/big-1").json()

    assert detail["payload"] is None
    assert detail["payload_size"] == Submission.objects.get().payload_object["size"]
    assert detail["payload_url_expires_at"].endswith("Z")
    fetched = client.get(path_of(detail["payload_url"]))
    assert fetched.status_code == 200
    assert json.loads(b"".join(fetched.streaming_content)) == BIG
    assert fetched["Content-Disposition"].startswith("attachment")


def test_links_expire_and_cannot_be_forged(signed, acme, client, settings):
    signed.post(acme, {"submission_id": "big-1", "payload": BIG})
    key = Submission.objects.get().payload_object["key"]
    url, _ = blobs.link(tenant_id="t_acme", key=key, ttl_seconds=60)
    forged, _ = blobs.link(tenant_id="t_globex", key=key, ttl_seconds=60)

    with time_machine.travel(timezone.now() + timedelta(seconds=120)):
        expired = client.get(path_of(url))
    tampered = client.get(path_of(url)[:-3] + "abc")

    assert client.get(path_of(url)).status_code == 200
    assert_error(expired, 404, "not_found")
    assert_error(tampered, 404, "not_found")
    assert_error(client.get(path_of(forged)), 404, "not_found")  # key outside its tenant


def test_a_link_shows_nothing_of_what_it_points_at(signed, acme, client):
    """Links travel to third parties: the token hides the tenant, the submission and the
    file's own name (a signed token only authenticated them), and still opens (issue 27)."""
    signed.post(acme, {"submission_id": "jane-doe-1", "payload": BIG})
    key = Submission.objects.get().payload_object["key"]
    url, _ = blobs.link(tenant_id="t_acme", key=key, ttl_seconds=60)

    seen = what_a_reader_sees(path_of(url).rsplit("/", 1)[1])

    for hidden in ("t_acme", "jane-doe-1", key.rsplit("/", 1)[-1]):
        assert hidden not in seen
    assert client.get(path_of(url)).status_code == 200


def what_a_reader_sees(token: str) -> str:
    """A token decoded as anyone could: base64, and zlib when Django's signer compressed it
    (`.eJ...:timestamp:signature`)."""
    payload = token.split(":", 1)[0]
    data = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
    if payload.startswith("."):
        data = zlib.decompress(data)
    return data.decode(errors="replace")


class TestDelivery:
    @pytest.fixture
    def form(self, acme):
        return form_services.form_create(tenant=acme.tenant, form_id="apply")

    def post_form(self, client, form, content: bytes):
        return client.post(
            f"/f/{form.form_key}",
            data={"name": "Ada", "cv": SimpleUploadedFile("cv.pdf", content, "application/pdf")},
            headers={"Accept": "application/json"},
        )

    def test_a_link_destination_gets_links_that_fetch_the_bytes(
        self, signed, acme, receiver, client, form
    ):
        delivery_services.destination_create(
            tenant=acme.tenant, name="crm", url=receiver.url("/hook")
        )
        content = b"%PDF-" + bytes(range(256)) * 40
        self.post_form(client, form, content)
        signed.post(acme, {"submission_id": "big-1", "payload": BIG})

        assert dispatcher.drain() == 2

        by_id = {r.event["submission_id"]: r.event for r in receiver.at("/hook")}
        [file_event] = [e for sid, e in by_id.items() if sid != "big-1"]
        [attachment] = file_event["attachments"]
        assert "key" not in attachment and "content_base64" not in attachment
        assert attachment["sha256"] == hashlib.sha256(content).hexdigest()
        fetched = client.get(path_of(attachment["url"]))
        assert b"".join(fetched.streaming_content) == content
        big = by_id["big-1"]
        assert big["payload"] is None
        assert json.loads(b"".join(client.get(path_of(big["payload_url"])).streaming_content)) == (
            BIG
        )

    def test_an_inline_destination_gets_the_bytes(self, signed, acme, receiver, client, form):
        delivery_services.destination_create(
            tenant=acme.tenant, name="crm", url=receiver.url("/hook"), files_as="inline"
        )
        content = b"hello file"
        self.post_form(client, form, content)
        signed.post(acme, {"submission_id": "big-1", "payload": BIG})

        dispatcher.drain()

        by_id = {r.event["submission_id"]: r.event for r in receiver.at("/hook")}
        assert by_id["big-1"]["payload"] == BIG
        assert "payload_url" not in by_id["big-1"]
        [file_event] = [e for sid, e in by_id.items() if sid != "big-1"]
        assert base64.b64decode(file_event["attachments"][0]["content_base64"]) == content


def test_erase_deletes_the_objects(signed, acme, client, storage_dir, api):
    form = form_services.form_create(tenant=acme.tenant, form_id="apply")
    client.post(
        f"/f/{form.form_key}",
        data={"cv": SimpleUploadedFile("cv.txt", b"personal", "text/plain")},
        headers={"Accept": "application/json"},
    )
    signed.post(acme, {"submission_id": "big-1", "payload": BIG})
    admin = api(acme, scopes=["admin"])

    for submission in Submission.objects.all():
        assert admin.delete(f"/v1/submissions/{submission.submission_id}").status_code == 200

    assert objects_in(storage_dir) == []
    assert not Submission.objects.filter(payload_object__isnull=False).exists()


def test_the_purge_deletes_the_objects_with_their_rows(signed, acme, storage_dir):
    signed.post(acme, {"submission_id": "old", "payload": BIG})
    signed.post(acme, {"submission_id": "new", "payload": BIG})
    Submission.objects.filter(submission_id="old").update(
        received_at=timezone.now() - timedelta(days=400)
    )

    call_command("purge")

    [kept] = objects_in(storage_dir)
    assert kept.startswith("t_acme/new/payload-")
    assert list(Submission.objects.values_list("submission_id", flat=True)) == ["new"]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the single-statement store is PostgreSQL's"
)
@pytest.mark.django_db(transaction=True)
def test_an_unconfirmed_store_keeps_the_objects_its_row_may_name(signed, acme, storage_dir):
    from django.db import OperationalError

    def commit_then_lose_the_answer(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "ingest_submission" in sql and sql.lstrip().upper().startswith("WITH"):
            raise OperationalError("server closed the connection unexpectedly")
        return result

    with connection.execute_wrapper(commit_then_lose_the_answer):
        response = signed.post(acme, {"submission_id": "big-1", "payload": BIG})

    assert_error(response, 503, "storage_unconfirmed")
    row = Submission.objects.get(submission_id="big-1")  # it was stored after all
    assert objects_in(storage_dir) == [row.payload_object["key"]]


def test_a_sender_cannot_name_a_stored_object(signed, acme, client, storage_dir):
    # Given: a file FormBridge stored for one submission
    form = form_services.form_create(tenant=acme.tenant, form_id="apply")
    client.post(
        f"/f/{form.form_key}",
        data={"cv": SimpleUploadedFile("cv.txt", b"private", "text/plain")},
        headers={"Accept": "application/json"},
    )
    [stored] = objects_in(storage_dir)

    # When: a signed envelope names that object as its own attachment
    response = signed.post(
        acme, {"payload": {"a": 1}, "attachments": [{"key": stored, "filename": "x"}]}
    )

    # Then: refused, so no link is signed for it, no destination reads it, no erase deletes it
    body = assert_error(response, 400, "invalid_payload")
    assert "reserved" in body["error"]["message"]
    assert Submission.objects.count() == 1
    assert objects_in(storage_dir) == [stored]
