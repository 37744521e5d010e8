"""One time format in every response (UTC ISO 8601, milliseconds, Z), and the schema says so."""

from __future__ import annotations

import re

import pytest

from delivery import dispatcher
from delivery.services import destination_create

ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
THE_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def times_in(value, path="$"):
    """(path, string) for every string in a JSON document that reads as a time."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from times_in(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from times_in(item, f"{path}[{index}]")
    elif isinstance(value, str) and ISO_TIME.match(value):
        yield path, value


@pytest.mark.django_db
def test_every_time_in_every_response_is_utc_with_milliseconds(signed, acme, api, receiver):
    client = api(acme)
    destination_create(tenant=acme.tenant, name="crm", config={"url": receiver.url("/hook")})
    receiver.set("/hook", [500])  # a failing destination has health times too
    ingested = signed.post(acme, {"payload": {"email": "a@example.com"}, "form_id": "contact"})
    submission_id = ingested.json()["submission_id"]
    dispatcher.drain()

    responses = {
        "ingest": ingested.json(),
        "events": client.post("/v1/events", {"event_type": "user.created", "payload": {}}).json(),
        "submissions": client.get("/v1/submissions").json(),
        "detail": client.get(f"/v1/submissions/{submission_id}").json(),
        "destinations": client.get("/v1/destinations").json(),
        "destination": client.get("/v1/destinations/crm").json(),
        "created": client.post(
            "/v1/destinations", {"name": "other", "url": receiver.url("/other")}
        ).json(),
    }

    found = {
        (name, path): value for name, body in responses.items() for path, value in times_in(body)
    }
    wrong = {where: value for where, value in found.items() if not THE_FORMAT.match(value)}
    assert not wrong
    # The walk saw the times it should have: received, attempted, health, created.
    paths = {path for _, path in found}
    assert {"$.received_at", "$.deliveries[0].attempt_log[0].started_at"} <= paths
    assert {"$.health.failing_since", "$.created_at", "$.updated_at"} <= paths


def test_the_schema_documents_the_format_on_every_time(client):
    document = client.get("/v1/schema", HTTP_ACCEPT="application/json").json()

    times = {
        f"{name}.{field}": spec
        for name, component in document["components"]["schemas"].items()
        for field, spec in component.get("properties", {}).items()
        if spec.get("format") == "date-time" and not spec.get("writeOnly")
    }
    undocumented = [
        where
        for where, spec in times.items()
        if "milliseconds and Z" not in spec.get("description", "")
        and not where.startswith("SubmissionQuery")
    ]
    assert times and not undocumented
    assert "milliseconds and Z" in document["info"]["description"]
