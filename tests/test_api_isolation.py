"""Tenant isolation across every API endpoint: tenant B's key (every scope) against tenant A's
objects gets 404 or only B's own data, and the database is unchanged afterwards."""

from __future__ import annotations

from uuid import UUID

import pytest

from core.cursors import encode_cursor
from delivery import dispatcher
from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryAttempt, Destination
from ingest.models import Submission
from tests.factories import tenant_with_secret

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    """Everything an endpoint could change, row by row."""
    return {
        "submissions": sorted(Submission.objects.values_list("id", "tenant_id", "updated_at")),
        "deliveries": sorted(
            Delivery.objects.values_list("id", "status", "attempts", "lease_until", "updated_at")
        ),
        "attempts": DeliveryAttempt.objects.count(),
        "destinations": sorted(
            Destination.objects.values_list(
                "id", "name", "config", "enabled", "deleted_at", "updated_at"
            )
        ),
    }


@pytest.fixture
def world(signed, api, receiver):
    """Tenant A with a submission, a dead delivery, a webhook destination and an inbox event;
    tenant B with a key holding every scope."""
    a = tenant_with_secret("t_a", with_inbox=True)
    b = tenant_with_secret("t_b", with_inbox=True)
    delivery_services.destination_create(
        tenant=a.tenant, name="a-crm", config={"url": receiver.url("/a")}, max_attempts=1
    )
    receiver.set("/a", [500])
    response = signed.post(a, {"submission_id": "a-secret-lead", "payload": {"email": "a@a"}})
    assert response.status_code == 202
    dispatcher.drain()
    return {"a_id": "a-secret-lead", "b": api(b), "a": api(a)}


ENDPOINTS = [
    ("get", "/v1/submissions/{a_id}", None),
    ("delete", "/v1/submissions/{a_id}", None),
    ("post", "/v1/submissions/{a_id}/replay", {}),
    ("post", "/v1/submissions/{a_id}/replay", {"destinations": ["a-crm"]}),
    ("get", "/v1/destinations/a-crm", None),
    ("patch", "/v1/destinations/a-crm", {"url": "http://127.0.0.1:9/stolen"}),
    ("delete", "/v1/destinations/a-crm", None),
    ("post", "/v1/destinations/a-crm/test", None),
    ("post", "/v1/destinations/a-crm/rotate-secret", {"overlap_hours": 0}),
    ("post", "/v1/ack", {"event_id": "{a_id}"}),
    ("post", "/v1/ack", {"event_ids": ["{a_id}"]}),
]


def call(client, method: str, path: str, body):
    if method in ("get", "delete"):
        return getattr(client, method)(path)
    if method == "patch":
        return client.patch(path, body)
    return client.post(path, body)


def fill(template, values: dict):
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    return template


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_tenant_b_cannot_reach_tenant_a_objects(world, method, path, body):
    before = snapshot()

    response = call(world["b"], method, fill(path, world), fill(body, world))
    # The same call for objects that exist nowhere: B must not be able to tell the two apart.
    absent = {"a_id": "no-such-submission"}
    baseline = call(
        world["b"],
        method,
        fill(path, absent).replace("a-crm", "no-such-dest"),
        fill(body, absent),
    )

    assert response.status_code == 404, (path, response.content)
    assert response.json()["error"]["code"] in ("not_found", "event_not_found")
    assert response.json()["error"]["message"].replace("a-secret-lead", "?").replace(
        "a-crm", "?"
    ) == baseline.json()["error"]["message"].replace("no-such-submission", "?").replace(
        "no-such-dest", "?"
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    "path",
    ["/v1/submissions", "/v1/submissions?status=dead", "/v1/inbox", "/v1/destinations"],
)
def test_listings_show_only_the_callers_tenant(world, path):
    before = snapshot()

    response = world["b"].get(path)

    assert response.status_code == 200
    text = response.content.decode()
    assert "a-secret-lead" not in text and "a-crm" not in text and "t_a" not in text
    assert snapshot() == before
    # and A sees its own: the fixture is not empty
    assert "a-secret-lead" in world["a"].get("/v1/submissions").content.decode()


def test_a_cursor_at_tenant_a_rows_shows_b_nothing_of_a(world):
    submission = Submission.objects.get(submission_id=world["a_id"])
    # A cursor just above A's row: B's query is scoped by tenant, so it still finds nothing.
    cursor = encode_cursor(submission.received_at, UUID(int=submission.id.int + 1))

    response = world["b"].get("/v1/submissions", cursor=cursor)

    assert response.status_code == 200
    assert response.json()["items"] == []
