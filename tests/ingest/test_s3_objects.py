"""Stored objects in S3, against moto's S3 server on loopback (real HTTP, real boto3 through
django-storages): a 2 MiB payload and a 5 MiB file are stored encrypted, reach a destination by
their links, and the purge removes them."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from delivery import dispatcher
from delivery import services as delivery_services
from ingest.models import Submission
from tenants.models import Tenant
from tests.settings_probe import settings_under
from webforms import services as form_services

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "formbridge-test-files"
MiB = 1024 * 1024
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def storage_from_settings(env: dict[str, str]) -> dict:
    """STORAGES["attachments"] exactly as formbridge/settings.py builds it from this env."""
    return settings_under(env, "STORAGES")["STORAGES"]["attachments"]


@pytest.fixture
def s3(moto_server, settings, monkeypatch):
    httpx.post(f"{moto_server}/moto-api/reset")
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    storage = storage_from_settings(
        {
            "ATTACHMENTS_S3_BUCKET": BUCKET,
            "ATTACHMENTS_S3_ENDPOINT_URL": moto_server,
            "ATTACHMENTS_S3_REGION": "us-east-1",
            "ATTACHMENTS_S3_PREFIX": "files",
        }
    )
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    settings.STORAGES = {**settings.STORAGES, "attachments": storage}
    yield client
    listed = client.list_object_versions(Bucket=BUCKET)
    for item in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"], VersionId=item["VersionId"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def fetch(client, url: str) -> bytes:
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_a_2_mib_payload_and_a_5_mib_file_go_to_s3_reach_a_destination_and_are_purged(
    s3, signed, acme, receiver, client
):
    # Given: room for both, a form that takes the file, a destination that gets links
    Tenant.objects.filter(pk="t_acme").update(max_payload_bytes=8 * MiB)
    acme.tenant.refresh_from_db()
    form = form_services.form_create(tenant=acme.tenant, form_id="apply", max_file_bytes=6 * MiB)
    delivery_services.destination_create(tenant=acme.tenant, name="crm", url=receiver.url("/hook"))
    payload = {"notes": "n" * (2 * MiB), "email": "ada@example.com"}
    content = os.urandom(5 * MiB)

    # When
    big = signed.post(acme, {"submission_id": "big-1", "payload": payload})
    posted = client.post(
        f"/f/{form.form_key}",
        data={"name": "Ada", "cv": SimpleUploadedFile("cv.bin", content, "application/pdf")},
        headers={"Accept": "application/json"},
    )

    # Then: stored in the bucket, under the prefix, encrypted
    assert big.status_code == 202, big.content
    assert posted.status_code == 200, posted.content
    stored = keys(s3)
    assert len(stored) == 2 and all(key.startswith("files/t_acme/") for key in stored)
    for key in stored:
        assert s3.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"
    file_row = Submission.objects.get(form_id="apply")
    assert file_row.attachments[0]["size"] == 5 * MiB
    assert file_row.attachments[0]["sha256"] == hashlib.sha256(content).hexdigest()

    # And: both reach the destination, which fetches the bytes by their links
    assert dispatcher.drain() == 2
    events = {r.event["submission_id"]: r.event for r in receiver.at("/hook")}
    assert json.loads(fetch(client, events["big-1"]["payload_url"])) == payload
    [attachment] = events[file_row.submission_id]["attachments"]
    assert hashlib.sha256(fetch(client, attachment["url"])).hexdigest() == attachment["sha256"]

    # And: the purge removes the objects with their rows
    call_command("purge", "--older-than-days", "0", stderr=open(os.devnull, "w"))  # noqa: SIM115
    assert keys(s3) == []
    assert not Submission.objects.exists()


def test_in_a_versioned_bucket_a_deleted_object_leaves_no_version_behind(s3):
    """The AWS bundle's bucket is versioned: a plain delete left the content readable as a
    noncurrent version after an erase or a purge."""
    from core import blobs

    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    storage = blobs.attachments_storage()
    key = storage.save("t_acme/s1/0-cv.pdf", SimpleUploadedFile("cv.pdf", b"first"))
    s3.put_object(Bucket=BUCKET, Key=f"files/{key}", Body=b"second")  # a second version
    kept = storage.save("t_acme/s1/1-other.pdf", SimpleUploadedFile("o.pdf", b"other"))

    blobs.delete_objects([key])

    listed = s3.list_object_versions(Bucket=BUCKET, Prefix="files/t_acme/")
    left = [(v["Key"], v.get("VersionId")) for v in listed.get("Versions", [])]
    markers = listed.get("DeleteMarkers", [])
    assert [k for k, _ in left] == [f"files/{kept}"]  # the other object is untouched
    assert markers == []
