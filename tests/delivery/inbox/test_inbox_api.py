"""GET /v1/inbox and POST /v1/ack: the pull inbox, with leases for competing workers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.db import connection, transaction
from django.utils import timezone

from delivery.inbox import services
from delivery.models import Delivery, DeliveryAttempt, DeliveryStatus, Destination
from tests.conftest import assert_error
from tests.factories import tenant_with_secret

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def shop(db):
    return tenant_with_secret("t_shop", with_inbox=True)


@pytest.fixture
def bakery(db):
    return tenant_with_secret("t_bakery", with_inbox=True)


def post_events(client, n, **fields) -> list[str]:
    ids = []
    for i in range(n):
        response = client.post("/v1/events", {"event_type": "customer.created", "n": i, **fields})
        assert response.status_code == 202, response.content
        ids.append(response.json()["event_id"])
    return ids


def statuses() -> dict[str, str]:
    return dict(Delivery.objects.values_list("submission__submission_id", "status"))


def test_a_tenant_gets_an_inbox_and_a_plain_read_changes_nothing(shop, api):
    client = api(shop)
    ids = post_events(client, 3)
    before = list(Delivery.objects.values_list("id", "status", "attempts", "updated_at"))

    first = client.get("/v1/inbox")
    second = client.get("/v1/inbox")

    assert Destination.objects.get(tenant=shop.tenant).kind == "inbox"
    assert first.status_code == 200
    events = first.json()["events"]
    assert [e["event_id"] for e in events] == ids  # oldest first
    assert events[0]["payload"] == {"event_type": "customer.created", "n": 0}
    assert events[0]["event_type"] == "customer.created"
    assert isinstance(events[0]["timestamp"], int)
    assert second.json() == first.json()
    assert list(Delivery.objects.values_list("id", "status", "attempts", "updated_at")) == before


def test_the_seed_demo_sequence_with_the_example_worker(shop, bakery, api, live_server):
    shop_api, bakery_api = api(shop), api(bakery)
    shop_ids = post_events(shop_api, 2)
    bakery_ids = post_events(bakery_api, 1)

    assert [e["event_id"] for e in shop_api.get("/v1/inbox").json()["events"]] == shop_ids
    assert [e["event_id"] for e in bakery_api.get("/v1/inbox").json()["events"]] == bakery_ids

    for tenant_api, ids in ((shop_api, shop_ids), (bakery_api, bakery_ids)):
        worker = subprocess.run(
            [sys.executable, "examples/worker.py", "--base-url", live_server.url, "--once"],
            cwd=ROOT,
            env={**os.environ, "FORMBRIDGE_API_KEY": tenant_api.key},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert worker.returncode == 0, worker.stderr
        assert f"acknowledged {len(ids)} events" in worker.stdout
        for event_id in ids:
            assert f"processing {event_id}" in worker.stdout

    assert shop_api.get("/v1/inbox").json()["events"] == []
    assert bakery_api.get("/v1/inbox").json()["events"] == []
    assert set(statuses().values()) == {DeliveryStatus.SUCCEEDED}
    assert DeliveryAttempt.objects.filter(request_method="ACK").count() == 3


def test_competing_consumers_never_get_the_same_event_inside_the_lease(shop, api, live_server):
    key = api(shop).key
    ids = post_events(api(shop), 60)
    handed: list[list[str]] = [[], []]

    def poll(slot: int) -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as http:
            while True:
                page = http.get(
                    "/v1/inbox",
                    params={"lease": 60, "limit": 7},
                    headers={"Authorization": f"Bearer {key}"},
                ).json()["events"]
                if not page:
                    return
                handed[slot].extend(e["event_id"] for e in page)

    pollers = [threading.Thread(target=poll, args=(slot,)) for slot in (0, 1)]
    for thread in pollers:
        thread.start()
    for thread in pollers:
        thread.join(timeout=60)

    assert not set(handed[0]) & set(handed[1])
    assert sorted(handed[0] + handed[1]) == sorted(ids)
    assert handed[0] and handed[1]  # both took a share
    leased = Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT)
    assert leased.count() == 60
    assert len(set(leased.values_list("lease_token", flat=True))) > 1


def test_an_unacked_event_comes_back_after_its_lease_then_goes_dead(shop, api):
    client = api(shop)
    Destination.objects.filter(tenant=shop.tenant).update(max_attempts=2)
    [event_id] = post_events(client, 1)

    first = client.get("/v1/inbox", lease=1).json()["events"]
    hidden = client.get("/v1/inbox", lease=1).json()["events"]
    time.sleep(1.1)
    again = client.get("/v1/inbox", lease=1).json()["events"]
    time.sleep(1.1)
    exhausted = client.get("/v1/inbox", lease=1).json()["events"]

    assert [(e["event_id"], e["attempt"]) for e in first] == [(event_id, 1)]
    assert hidden == []
    assert [(e["event_id"], e["attempt"]) for e in again] == [(event_id, 2)]
    assert exhausted == []
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DEAD
    assert "leased 2 times without an ack" in delivery.last_error


def test_lapsed_leases_and_waiting_events_come_oldest_first_held_ones_never(shop, api):
    """Visible = waiting, or leased and lapsed; read as two index ranges, merged by age."""
    ids = post_events(api(shop), 4)
    inbox = Destination.objects.get(tenant=shop.tenant)
    now = timezone.now()
    services.inbox_read(destination=inbox, limit=1, lease_seconds=1, now=now)  # ids[0], 1 s
    services.inbox_read(destination=inbox, limit=1, lease_seconds=600, now=now)  # ids[1]
    later = now + timedelta(seconds=2)

    plain = services.inbox_read(destination=inbox, now=later)
    leased = services.inbox_read(destination=inbox, limit=2, lease_seconds=30, now=later)
    after = services.inbox_read(destination=inbox, now=later + timedelta(seconds=1))

    assert [e["event_id"] for e in plain.events] == [ids[0], ids[2], ids[3]]
    assert [(e["event_id"], e["attempt"]) for e in leased.events] == [(ids[0], 2), (ids[2], 1)]
    assert [e["event_id"] for e in after.events] == [ids[3]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_a_lease_reads_the_waiting_index_not_the_leased_rows(shop, api):
    """A busy consumer holds thousands of leases; a lease stepped over each of them (10 % of the
    read floor at 10 M rows, make bench-scale). Leased events are out of the waiting index."""
    post_events(api(shop), 3)
    inbox = Destination.objects.get(tenant=shop.tenant)
    waiting, lapsed = services._visible_parts(inbox, timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be read whole
        plans = []
        for part in (waiting, lapsed):
            sql, params = part.order_by("created_at", "id")[:10].query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))

    assert "Index Scan using delivery_inbox_waiting" in plans[0], plans[0]
    assert "Sort" not in plans[0], plans[0]
    assert "delivery_leased" in plans[1], plans[1]


def test_ack_is_idempotent_batchable_and_counts(shop, api):
    client = api(shop)
    ids = post_events(client, 3)

    one = client.post("/v1/ack", {"event_id": ids[0]})
    again = client.post("/v1/ack", {"event_id": ids[0]})
    batch = client.post("/v1/ack", {"event_ids": ids})

    assert one.json() == {"status": "acknowledged", "acknowledged": 1}
    assert again.json() == {"status": "acknowledged", "acknowledged": 1}
    assert batch.json() == {"status": "acknowledged", "acknowledged": 3}
    assert set(statuses().values()) == {DeliveryStatus.SUCCEEDED}
    assert DeliveryAttempt.objects.count() == 3  # one per event, not per ack call
    assert client.get("/v1/inbox").json()["events"] == []


def test_another_tenants_event_is_404_and_stays_untouched(shop, bakery, api):
    shop_api, bakery_api = api(shop), api(bakery)
    [shop_event] = post_events(shop_api, 1)
    [bakery_event] = post_events(bakery_api, 1)

    single = bakery_api.post("/v1/ack", {"event_id": shop_event})
    mixed = bakery_api.post("/v1/ack", {"event_ids": [bakery_event, shop_event]})

    assert_error(single, 404, "event_not_found")
    assert_error(mixed, 404, "event_not_found")
    assert statuses() == {shop_event: "pending", bakery_event: "pending"}  # all or nothing
    assert DeliveryAttempt.objects.count() == 0


def test_cursor_pages_through_the_inbox(shop, api):
    client = api(shop)
    ids = post_events(client, 5)

    page1 = client.get("/v1/inbox", limit=2).json()
    page2 = client.get("/v1/inbox", limit=2, cursor=page1["next_cursor"]).json()
    page3 = client.get("/v1/inbox", limit=2, cursor=page2["next_cursor"]).json()

    seen = [e["event_id"] for page in (page1, page2, page3) for e in page["events"]]
    assert seen == ids
    assert page3["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": 0}, "invalid_request"),
        ({"limit": 501}, "invalid_request"),
        ({"lease": 0}, "invalid_request"),
        ({"lease": "soon"}, "invalid_request"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
    ],
)
def test_bad_inbox_queries(shop, api, params, code):
    assert_error(api(shop).get("/v1/inbox", **params), 400, code)


@pytest.mark.parametrize(
    "body",
    [{}, {"event_id": "a", "event_ids": ["b"]}, {"event_ids": []}, {"event_ids": "a"}, [1]],
)
def test_bad_ack_bodies(shop, api, body):
    assert_error(api(shop).post("/v1/ack", body), 400, "invalid_request")


def test_scope_and_missing_inbox(shop, acme, api):
    read_only = api(shop, scopes=["read"])
    no_inbox = api(acme, scopes=["inbox"])

    assert_error(read_only.get("/v1/inbox"), 403, "insufficient_scope")
    assert_error(read_only.post("/v1/ack", {"event_id": "x"}), 403, "insufficient_scope")
    assert_error(no_inbox.get("/v1/inbox"), 404, "no_inbox")
