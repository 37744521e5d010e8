"""IAM coverage of stored files (moto enforces no IAM; this test does): every S3 call FormBridge
makes while a file and a large payload are stored, linked, delivered, erased (a versioned bucket,
as the bundle's is) and purged, evaluated against the role of the process that makes it in
deploy/aws/services.yaml: web stores, serves links and erases; the worker delivers and purges
(beat's task); the release task runs the same purge and erase as one-off commands.

Before issue 30 the web role could not delete at all (an erase from the API failed), and no role
could delete a version: these calls were denied on AWS while every test here passed on moto."""

from __future__ import annotations

import os
from collections import defaultdict

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from delivery import dispatcher
from delivery import services as delivery_services
from ingest.models import Submission
from tenants.models import Tenant
from tests.deploy.iam import ROLES, judge, recorded_calls
from tests.ingest.test_s3_objects import BUCKET, fetch, s3  # noqa: F401 - the fixture
from webforms import services as form_services

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_s3_call_of_each_process_is_allowed_by_its_role(
    s3,  # noqa: F811 - the fixture imported above
    signed,
    acme,
    receiver,
    client,
    api,
    capsys,
):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    Tenant.objects.filter(pk="t_acme").update(max_payload_bytes=4 << 20)
    acme.tenant.refresh_from_db()
    form = form_services.form_create(tenant=acme.tenant, form_id="apply", max_file_bytes=1 << 20)
    delivery_services.destination_create(tenant=acme.tenant, name="crm", url=receiver.url("/hook"))
    delivery_services.destination_create(  # the worker reads the bytes into the event
        tenant=acme.tenant, name="inline", url=receiver.url("/inline"), files_as="inline"
    )
    admin = api(acme, scopes=("admin", "read"))
    calls = defaultdict(list)

    with recorded_calls() as made:  # web: ingest stores the payload and the upload
        big = {"submission_id": "big-1", "payload": {"notes": "n" * (2 << 20)}}  # stored in S3
        assert signed.post(acme, big).status_code == 202
        posted = client.post(
            f"/f/{form.form_key}",
            data={
                "name": "Ada",
                "cv": SimpleUploadedFile("cv.pdf", os.urandom(4096), "application/pdf"),
            },
            headers={"Accept": "application/json"},
        )
        assert posted.status_code == 200, posted.content
    calls["web"] += made
    with recorded_calls() as made:  # worker: the deliveries (links; the bytes for "inline")
        assert dispatcher.drain() == 4
    calls["worker"] += made
    events = {r.event["submission_id"]: r.event for r in receiver.at("/hook")}
    with recorded_calls() as made:  # web: a receiver follows the links
        fetch(client, events["big-1"]["payload_url"])
    calls["web"] += made
    upload = Submission.objects.get(form_id="apply")
    with recorded_calls() as made:  # web: an erase from the API, every version of the file
        assert admin.delete(f"/v1/submissions/{upload.submission_id}").status_code in (200, 204)
    calls["web"] += made
    calls["release"] += made  # the same erase as a one-off command
    with recorded_calls() as made:  # worker (beat's purge), and the release task's one-off run
        call_command("purge", "--older-than-days", "0", stderr=open(os.devnull, "w"))  # noqa: SIM115
    calls["worker"] += made
    calls["release"] += made

    table = {
        process: sorted({c.action for c in made_calls}) for process, made_calls in calls.items()
    }
    with capsys.disabled():
        print("\nS3 calls per process (all allowed by its role):")
        for process, actions in table.items():
            print(f"  {process} ({ROLES[process]}): {', '.join(actions)}")
    assert all(table[p] for p in ("web", "worker")), table
    assert judge(calls) == {process: [] for process in calls}
