"""GET /v1/submissions (keyset pages), GET /v1/submissions/{id}, POST .../replay."""

from __future__ import annotations

import threading
from datetime import timedelta
from itertools import pairwise

import httpx
import pytest
from django.db import connection
from django.utils import timezone

from delivery import dispatcher
from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryStatus
from ingest.models import Submission
from tests.conftest import assert_error


def page_ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["submission_id"] for item in response.json()["items"]]


def test_list_is_newest_first_with_the_canonical_fields(signed, acme, api):
    ids = signed.submit(acme, 3, form_id="contact_us", source="wordpress")

    body = api(acme, scopes=["read"]).get("/v1/submissions").json()

    assert [item["submission_id"] for item in body["items"]] == ids[::-1]
    first = body["items"][-1]
    assert first["payload"] == {"n": 0}
    assert (first["form_id"], first["source"], first["schema_version"]) == (
        "contact_us",
        "wordpress",
        "1.0",
    )
    assert first["deliveries"] == {}
    assert body["next_cursor"] is None


def test_filters(signed, acme, api, receiver, make_destination_for):
    make_destination_for(acme, "crm", max_attempts=1, path="/down")
    receiver.set("/down", [500])
    old = signed.submit(acme, 1, form_id="newsletter", source="django")
    Submission.objects.filter(submission_id=old[0]).update(
        received_at=timezone.now() - timedelta(days=2)
    )
    contact = signed.submit(acme, 2, form_id="contact_us", source="wordpress")
    client = api(acme, scopes=["read"])

    assert page_ids(client.get("/v1/submissions", form_id="newsletter")) == old
    assert page_ids(client.get("/v1/submissions", source="wordpress")) == contact[::-1]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert page_ids(client.get("/v1/submissions", since=since)) == contact[::-1]
    assert page_ids(client.get("/v1/submissions", until=since)) == old
    assert page_ids(client.get("/v1/submissions", status="dead")) == []
    dispatcher.drain()  # the receiver at /down answers 500 and max_attempts is 1
    assert sorted(page_ids(client.get("/v1/submissions", status="dead"))) == sorted(old + contact)
    listed = client.get("/v1/submissions", limit=1).json()["items"][0]
    assert listed["deliveries"] == {"dead": 1}


def test_pages_neither_skip_nor_repeat_while_submissions_arrive(signed, acme, api):
    existing = signed.submit(acme, 25)
    # Same arrival instant for a run of rows: the id breaks the tie.
    Submission.objects.filter(submission_id__in=existing[5:15]).update(
        received_at=Submission.objects.get(submission_id=existing[5]).received_at
    )
    client = api(acme, scopes=["read"])
    seen, cursor = [], None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/submissions", **params)
        seen += page_ids(response)
        signed.submit(acme, 2)  # new arrivals between pages
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen))
    assert sorted(seen) == sorted(existing)


@pytest.mark.django_db(transaction=True)
def test_pages_stay_consistent_under_concurrent_inserts(signed, acme, api, live_server):
    existing = set(signed.submit(acme, 40))
    key = api(acme, scopes=["read"]).key
    stop = threading.Event()

    def keep_inserting():
        try:
            while not stop.is_set():
                signed.submit(acme, 1)
        finally:
            connection.close()  # this thread's own; left open it blocks dropping the test db

    writer = threading.Thread(target=keep_inserting)
    writer.start()
    seen: list[str] = []
    try:
        with httpx.Client(base_url=live_server.url, timeout=30) as http:
            cursor = None
            while True:
                params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
                page = http.get(
                    "/v1/submissions", params=params, headers={"Authorization": f"Bearer {key}"}
                ).json()
                seen += [item["submission_id"] for item in page["items"]]
                cursor = page["next_cursor"]
                if not cursor:
                    break
    finally:
        stop.set()
        writer.join()

    keys = dict(
        (sid, (received_at, pk))
        for sid, received_at, pk in Submission.objects.values_list(
            "submission_id", "received_at", "id"
        )
    )
    # Strictly newest first across all pages: nothing repeats, nothing goes back in time.
    assert all(keys[a] > keys[b] for a, b in pairwise(seen))
    # Every row at or below the first row shown (all that existed then) was listed.
    assert {sid for sid, key_ in keys.items() if key_ <= keys[seen[0]]} == set(seen)
    assert existing <= set(seen)
    assert len(keys) > len(existing)  # the writer did insert meanwhile


def test_detail_shows_deliveries_and_every_attempt(
    signed, acme, api, receiver, make_destination_for
):
    make_destination_for(acme, "crm", retry_schedule=[0], max_attempts=2, path="/flaky")
    receiver.set("/flaky", [500])
    [submission_id] = signed.submit(acme)
    dispatcher.drain()
    Delivery.objects.update(next_attempt_at=timezone.now())
    dispatcher.drain()

    body = api(acme, scopes=["read"]).get(f"/v1/submissions/{submission_id}").json()

    assert body["submission_id"] == submission_id
    [delivery] = body["deliveries"]
    assert (delivery["destination"], delivery["status"], delivery["attempts"]) == ("crm", "dead", 2)
    assert [a["number"] for a in delivery["attempt_log"]] == [1, 2]
    assert delivery["attempt_log"][0]["response_status"] == 500
    assert delivery["attempt_log"][0]["request_headers"]["Idempotency-Key"] == delivery["id"]


def test_unknown_submission_is_404(acme, api):
    assert_error(api(acme, scopes=["read"]).get("/v1/submissions/nope"), 404, "not_found")


def test_replay_delivers_again_through_the_normal_path(
    signed, acme, api, receiver, make_destination_for
):
    make_destination_for(acme, "crm", max_attempts=1, path="/hook")
    make_destination_for(acme, "erp", path="/erp")
    receiver.set("/hook", [500, 200])
    [submission_id] = signed.submit(acme)
    dispatcher.drain()
    client = api(acme, scopes=["admin"])

    everything = client.post(f"/v1/submissions/{submission_id}/replay")
    dispatcher.drain()
    only_erp = client.post(f"/v1/submissions/{submission_id}/replay", {"destinations": ["erp"]})
    dispatcher.drain()

    assert everything.status_code == 202
    assert everything.json() == {"requeued": 2, "created": 0}
    assert only_erp.json() == {"requeued": 1, "created": 0}
    assert len(receiver.at("/hook")) == 2
    assert len(receiver.at("/erp")) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}


def test_replay_errors(signed, acme, api, make_destination_for):
    [submission_id] = signed.submit(acme)
    client = api(acme, scopes=["admin"])

    assert_error(client.post("/v1/submissions/nope/replay"), 404, "not_found")
    assert_error(
        client.post(f"/v1/submissions/{submission_id}/replay", {"destinations": ["ghost"]}),
        404,
        "not_found",
    )
    assert_error(
        client.post(f"/v1/submissions/{submission_id}/replay", {"destinations": "crm"}),
        400,
        "invalid_request",
    )
    read_only = api(acme, scopes=["read"])
    assert_error(
        read_only.post(f"/v1/submissions/{submission_id}/replay"), 403, "insufficient_scope"
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": 0}, "invalid_request"),
        ({"limit": 201}, "invalid_request"),
        ({"since": "yesterday"}, "invalid_request"),
        ({"status": "lost"}, "invalid_request"),
        ({"cursor": "eyJ4Ijox"}, "invalid_cursor"),
        ({"form_id": ["a", "b"]}, "invalid_request"),
    ],
)
def test_bad_queries(acme, api, params, code):
    assert_error(api(acme, scopes=["read"]).get("/v1/submissions", **params), 400, code)


def test_keys_without_read_scope_or_without_a_key(acme, api, client):
    assert_error(api(acme, scopes=["ingest"]).get("/v1/submissions"), 403, "insufficient_scope")
    response = client.get("/v1/submissions")
    assert_error(response, 401, "missing_api_key")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.fixture
def make_destination_for(receiver):
    def make(created, name, path="/hook", **fields):
        return delivery_services.destination_create(
            tenant=created.tenant, name=name, config={"url": receiver.url(path)}, **fields
        ).destination

    return make
