"""POST /v1/ingest as multipart/form-data: the envelope as one JSON part, files as the others,
the signature over the exact bytes; files stored as a browser form's are, and only with the
submission they came in."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from core.blobs import attachments_storage
from ingest.models import Submission
from tests.factories import tenant_with_secret

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 " + bytes(range(256)) * 40  # binary, every byte value
ENVELOPE = {
    "submission_id": "01931a7c-0000-7000-8000-00000000c0de",
    "form_id": "cf7-5",
    "source": "wordpress",
    "payload": {"your-name": "Wendy Happy", "your-email": "wendy@example.com"},
}


def multipart(envelope, files) -> tuple[bytes, str]:
    """The body and Content-Type a client (httpx here, PHP's own encoder in the plugin) sends."""
    import json

    request = httpx.Request(
        "POST", "http://formbridge.test/v1/ingest",
        files=[("envelope", (None, json.dumps(envelope), "application/json")), *files],
    )  # fmt: skip
    return request.read(), request.headers["Content-Type"]


def stored_files(tenant_id: str) -> list[Path]:
    root = Path(attachments_storage().location) / tenant_id
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def acme(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "attachments")},
        },
    }
    return tenant_with_secret("t_acme")


def test_the_envelope_and_its_files_are_stored_together(signed, acme):
    body, content_type = multipart(
        ENVELOPE,
        [("your-file", ("cv.pdf", PDF, "application/pdf")),
         ("photos", ("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png"))],
    )  # fmt: skip

    response = signed.post(acme, body, content_type=content_type)

    assert response.status_code == 202, response.content
    assert response.json()["submission_id"] == ENVELOPE["submission_id"]
    submission = Submission.objects.get(tenant_id="t_acme")
    assert submission.payload == ENVELOPE["payload"]
    described = [
        (a["field"], a["filename"], a["content_type"], a["size"]) for a in submission.attachments
    ]
    assert described == [
        ("your-file", "cv.pdf", "application/pdf", len(PDF)),
        ("photos", "a.png", "image/png", 108),
    ]  # fmt: skip
    first = submission.attachments[0]
    assert first["sha256"] == hashlib.sha256(PDF).hexdigest()
    with attachments_storage().open(first["key"]) as stored:
        assert stored.read() == PDF
    assert first["key"].startswith(f"t_acme/{ENVELOPE['submission_id']}/")


def test_a_byte_changed_in_a_file_breaks_the_signature_and_stores_nothing(signed, acme, client):
    body, content_type = multipart(ENVELOPE, [("your-file", ("cv.pdf", PDF, "application/pdf"))])
    from tests.signing import signed_headers

    headers = signed_headers(tenant_id="t_acme", secret=acme.signing_secret, body=body)
    tampered = body.replace(b"%PDF-1.4", b"%PDF-1.5")

    response = client.post("/v1/ingest", data=tampered, content_type=content_type, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not Submission.objects.exists() and stored_files("t_acme") == []


def test_a_resend_is_a_duplicate_and_keeps_one_copy_of_each_file(signed, acme):
    body, content_type = multipart(ENVELOPE, [("your-file", ("cv.pdf", PDF, "application/pdf"))])
    assert signed.post(acme, body, content_type=content_type).status_code == 202

    again = signed.post(acme, body, content_type=content_type)  # re-signed: a new timestamp

    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert Submission.objects.count() == 1
    assert len(stored_files("t_acme")) == 1


def test_the_same_id_with_another_payload_is_a_conflict_and_its_files_go(signed, acme):
    body, content_type = multipart(ENVELOPE, [])
    assert signed.post(acme, body, content_type=content_type).status_code == 202
    changed = {**ENVELOPE, "payload": {"your-name": "Someone Else"}}
    body, content_type = multipart(changed, [("your-file", ("cv.pdf", PDF, "application/pdf"))])

    response = signed.post(acme, body, content_type=content_type)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "submission_conflict"
    assert stored_files("t_acme") == []


@pytest.mark.parametrize(
    ("parts", "status", "code"),
    [
        ([("f", (f"{n}.txt", b"x", "text/plain")) for n in range(3)], 400, "too_many_files"),
        ([("f", ("big.bin", b"x" * 2049, "application/octet-stream"))], 413, "file_too_large"),
    ],
)
def test_files_beyond_the_limits_are_refused_whole(signed, acme, settings, parts, status, code):
    settings.INGEST_MAX_FILES, settings.INGEST_MAX_FILE_BYTES = 2, 2048
    body, content_type = multipart(ENVELOPE, parts)

    response = signed.post(acme, body, content_type=content_type)

    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert not Submission.objects.exists() and stored_files("t_acme") == []


def test_a_multipart_body_without_its_envelope_part_is_refused(signed, acme):
    request = httpx.Request(
        "POST", "http://formbridge.test/v1/ingest",
        files=[("payload", (None, "{}")), ("f", ("a.txt", b"x", "text/plain"))],
    )  # fmt: skip

    response = signed.post(acme, request.read(), content_type=request.headers["Content-Type"])

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_payload"
    assert "envelope" in response.json()["error"]["message"]
    assert not Submission.objects.exists() and stored_files("t_acme") == []


def test_a_json_body_labelled_multipart_is_refused(signed, acme):
    response = signed.post(acme, ENVELOPE, content_type="multipart/form-data; boundary=x")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_payload"
    assert not Submission.objects.exists()
