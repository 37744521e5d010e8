"""The list page PostgreSQL renders (ingest/rendered_pages.py) is, item for item and cursor for
cursor, what the ORM path builds (selectors.submission_list + serializers.submission_data),
which SQLite serves and which is the reference: every filter, paging, deliveries in several
statuses, unicode, IPv6, an offloaded payload and a stored file (their signed links)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from delivery import dispatcher
from delivery import services as delivery_services
from delivery.models import DeliveryAttempt
from ingest import rendered_pages, selectors
from ingest.models import Submission
from ingest.serializers import delivery_data, submission_data
from webforms import services as form_services

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL renders the page"),
]


def reference(tenant, **query) -> tuple[list[dict], str | None]:
    page = selectors.submission_list(tenant=tenant, **query)
    items = [submission_data(row, page.delivery_counts.get(row["id"], {})) for row in page.items]
    return json.loads(json.dumps(items, cls=DjangoJSONEncoder)), page.next_cursor


def rendered(tenant, **query) -> tuple[list[dict], str | None]:
    items, cursor = rendered_pages.rendered_page(tenant_id=tenant.id, **query)
    return [json.loads(item) for item in items], cursor


@pytest.fixture
def history(signed, acme, receiver, storage_dir, settings, client):
    settings.PAYLOAD_INLINE_MAX_BYTES = 1024
    settings.DELIVERY_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    receiver.set("/down", [500])
    for name, path in (("crm", "/down"), ("sheet", "/ok")):
        delivery_services.destination_create(
            tenant=acme.tenant, name=name, config={"url": receiver.url(path)}, max_attempts=1
        )
    signed.submit(acme, 2, form_id="contact", source="wordpress")
    signed.submit(acme, 1, form_id="quote", source="django", payload={"name": 'Zoë ✓ "q"'})
    signed.submit(acme, 1, submission_id="big-1", payload={"notes": "x" * 5000})
    [old] = signed.submit(acme, 1, form_id="quote", source="wordpress")
    Submission.objects.filter(submission_id=old).update(
        received_at=timezone.now() - timedelta(days=3), ip="2001:db8::1"
    )
    form = form_services.form_create(tenant=acme.tenant, form_id="apply", max_file_bytes=10_000)
    posted = client.post(
        f"/f/{form.form_key}",
        data={"name": "Ada", "cv": SimpleUploadedFile("cv.pdf", b"%PDF-1.4 x", "application/pdf")},
        headers={"Accept": "application/json"},
    )
    assert posted.status_code == 200, posted.content
    dispatcher.drain()  # crm dead (500, one attempt), sheet succeeded
    return acme.tenant


QUERIES = [
    {},
    {"form_id": "quote"},
    {"source": "wordpress"},
    {"status": "dead"},
    {"status": "succeeded"},
    {"since": timezone.now() - timedelta(days=1)},
    {"until": timezone.now() - timedelta(days=1)},
    {"limit": 2},
    {"spam": True},
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(q) or "all")
def test_every_filter_renders_what_the_orm_path_builds(history, query):
    with time_machine.travel(timezone.now(), tick=False):  # the same link expiry in both
        expected, expected_cursor = reference(history, **query)
        got, cursor = rendered(history, **query)

    assert got == expected
    assert cursor == expected_cursor


def test_pages_walk_the_same_rows_and_links_and_counts_are_there(history):
    seen, cursor = [], None
    with time_machine.travel(timezone.now(), tick=False):
        while True:
            expected, expected_cursor = reference(history, limit=2, cursor=cursor)
            got, next_cursor = rendered(history, limit=2, cursor=cursor)
            assert got == expected and next_cursor == expected_cursor
            seen += got
            if next_cursor is None:
                break
            cursor = next_cursor

    by_id = {item["submission_id"]: item for item in seen}
    assert len(seen) == 6
    assert by_id["big-1"]["payload"] is None and by_id["big-1"]["payload_url"]
    [uploaded] = [i for i in seen if i["form_id"] == "apply"]
    assert uploaded["attachments"][0]["url"] and "key" not in uploaded["attachments"][0]
    assert {i["ip"] for i in seen} >= {"2001:db8::1"}
    assert all(i["deliveries"] == {"dead": 1, "succeeded": 1} for i in seen)
    assert all(i["received_at"].endswith("Z") and len(i["received_at"]) == 24 for i in seen)


@pytest.fixture
def many_rows(acme):
    """5,000 rows of one form and source, analyzed: enough for the planner's choice between
    indexes to be the one a large table gets (a handful of rows reads fine any way)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Submission._meta.db_table} (id, tenant_id, submission_id, source,
                form_id, event_type, schema_version, submitted_at, received_at, payload,
                payload_bytes, payload_sha256, attachments, created_at, updated_at, erased_by,
                spam_reason, status)
            SELECT gen_random_uuid(), %s, 'bulk-' || g, 'wordpress', 'contact', '', '1.0',
                now() - g * interval '1 minute', now() - g * interval '1 minute', '{{}}', 2,
                md5(g::text), '[]', now(), now(), '', '', 'accepted'
            FROM generate_series(1, 5000) AS g
            """,  # noqa: S608 (a table name)
            [acme.tenant.id],
        )
        cursor.execute(f"ANALYZE {Submission._meta.db_table}")
    return acme.tenant


@pytest.mark.parametrize(
    ("filters", "index"),
    [((), "submission_keyset"), (("form_id",), "submission_by_form"),
     (("source",), "submission_by_source")],
)  # fmt: skip
def test_each_page_reads_an_index_in_its_order(many_rows, filters, index):
    """A filter on form or source walks its own index, never the tenant's whole history (at
    10 M rows a source the tenant never used took 1.8 s: make bench-scale)."""
    with connection.cursor() as cursor:
        params = [many_rows.id, "accepted", *(["stripe"] * len(filters)), 51]
        cursor.execute(f"EXPLAIN {rendered_pages._sql(filters)}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert f"Index Scan Backward using {index}" in plan, plan
    assert "Sort" not in plan.split("SubPlan")[0], plan


def test_the_detail_renders_what_the_orm_path_builds(history):
    ids = Submission.objects.filter(tenant=history).values_list("submission_id", flat=True)
    DeliveryAttempt.objects.filter(number=1).update(  # a JSON column inside the log
        response_headers={"Retry-After": "5"}
    )
    with time_machine.travel(timezone.now(), tick=False):
        for submission_id in ids:
            detail = selectors.submission_detail(tenant=history, submission_id=submission_id)
            expected = submission_data(detail.submission)
            expected["deliveries"] = [delivery_data(*parts) for parts in detail.deliveries]
            expected = json.loads(json.dumps(expected, cls=DjangoJSONEncoder))

            got = json.loads(
                rendered_pages.rendered_detail(tenant_id=history.id, submission_id=submission_id)
            )

            assert got == expected, submission_id
            assert [d["destination"] for d in got["deliveries"]] == ["crm", "sheet"]
            assert all(d["attempt_log"] for d in got["deliveries"])
    assert rendered_pages.rendered_detail(tenant_id=history.id, submission_id="nope") is None
    assert rendered_pages.rendered_detail(tenant_id="t_other", submission_id=ids[0]) is None
