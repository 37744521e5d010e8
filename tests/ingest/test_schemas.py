"""JSON Schemas of event types and forms: set through the API and the command, checked on every
way in before anything is stored; a violation is 422 with a pointer and message per error."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from delivery import services as delivery_services
from delivery.models import Delivery
from ingest import schemas
from ingest.models import PayloadSchema, Submission
from tests.conftest import assert_error

SIGNUP = {
    "type": "object",
    "required": ["email", "name"],
    "properties": {
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string", "minLength": 1},
        "age": {"type": "integer", "minimum": 0},
    },
}


@pytest.fixture
def admin(acme, api):
    return api(acme, scopes=["admin", "ingest"])


def put_schema(admin, event_type, schema):
    return admin.call("put", f"/v1/event-types/{event_type}/schema", schema)


@pytest.fixture
def destination(acme, receiver):
    return delivery_services.destination_create(
        tenant=acme.tenant, name="crm", url=receiver.url("/hook")
    ).destination


def test_event_type_schema_is_set_read_and_deleted(admin):
    # Given / when
    response = put_schema(admin, "user.signup", SIGNUP)

    # Then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["event_type"] == "user.signup"
    assert body["schema"] == SIGNUP
    assert body["updated_at"].endswith("Z")
    assert admin.get("/v1/event-types/user.signup/schema").json()["schema"] == SIGNUP
    assert admin.delete("/v1/event-types/user.signup/schema").status_code == 204
    assert_error(admin.get("/v1/event-types/user.signup/schema"), 404, "not_found")
    assert not PayloadSchema.objects.exists()


def test_a_violating_event_is_422_with_pointers_and_nothing_is_stored(
    acme, admin, signed, destination
):
    # Given
    put_schema(admin, "user.signup", SIGNUP)

    # When: name missing, email malformed, age negative
    response = signed.post(
        acme,
        {"event_type": "user.signup", "payload": {"email": "not-an-address", "age": -3}},
    )

    # Then
    body = assert_error(response, 422, "schema_violation")
    errors = {e["pointer"]: e["message"] for e in body["error"]["errors"]}
    assert set(errors) == {"/payload/name", "/payload/email", "/payload/age"}
    assert "required" in errors["/payload/name"]
    assert "minimum" in errors["/payload/age"]
    assert "event type 'user.signup'" in body["error"]["message"]
    assert not Submission.objects.exists()
    assert not Delivery.objects.exists()


def test_a_matching_event_is_stored_and_fanned_out(acme, admin, signed, destination):
    put_schema(admin, "user.signup", SIGNUP)

    response = signed.post(
        acme, {"event_type": "user.signup", "payload": {"email": "ada@example.com", "name": "A"}}
    )

    assert response.status_code == 202, response.content
    assert Delivery.objects.filter(destination=destination).count() == 1


def test_the_schema_applies_to_api_events_too(acme, admin, client):
    put_schema(admin, "order.paid", {"type": "object", "required": ["total"]})

    refused = admin.call("post", "/v1/events", {"event_type": "order.paid", "id": 1})
    accepted = admin.call("post", "/v1/events", {"event_type": "order.paid", "total": 10})

    body = assert_error(refused, 422, "schema_violation")
    assert body["error"]["errors"] == [
        {"pointer": "/payload/total", "message": '"total" is a required property'}
    ]
    assert accepted.status_code == 202
    assert Submission.objects.count() == 1


def test_a_form_schema_applies_to_signed_ingest_by_form_id(acme, admin, signed):
    # Given: a form with a schema (the forms API stores it under the form_id)
    response = admin.post(
        "/v1/forms",
        {"form_id": "contact", "schema": {"type": "object", "required": ["email"]}},
    )
    assert response.status_code == 201, response.content

    # When / then: signed ingest for that form_id is checked, another form_id is not
    assert_error(
        signed.post(acme, {"form_id": "contact", "payload": {"name": "x"}}), 422, "schema_violation"
    )
    assert signed.post(acme, {"form_id": "other", "payload": {"name": "x"}}).status_code == 202
    assert Submission.objects.count() == 1


def test_event_types_with_slashes_and_dots_are_addressable(admin):
    response = put_schema(admin, "orders/create", {"type": "object"})

    assert response.status_code == 200, response.content
    assert response.json()["event_type"] == "orders/create"
    assert PayloadSchema.objects.get().subject == "orders/create"


@pytest.mark.parametrize(
    "schema, fragment",
    [
        ({"type": "nope"}, "not a valid Draft 2020-12 schema"),
        ({"$schema": "http://json-schema.org/draft-07/schema#"}, "Draft 2020-12"),
        ({"$ref": "http://169.254.169.254/latest/meta-data"}, "not a valid"),
        ([1, 2], "must be a JSON Schema"),
        ({"properties": {"a": {"description": "x" * 70_000}}}, "bytes"),
    ],
)
def test_a_bad_schema_is_refused_with_its_field(admin, schema, fragment):
    response = put_schema(admin, "user.signup", schema)

    body = assert_error(response, 400, "invalid_schema")
    assert fragment in body["error"]["fields"]["schema"][0]
    assert not PayloadSchema.objects.exists()


def test_a_schema_must_be_sent_as_json(admin, client):
    response = client.put(
        "/v1/event-types/x/schema",
        data="type=object",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {admin.key}"},
    )

    assert_error(response, 415, "unsupported_media_type")


def test_a_catastrophic_pattern_cannot_hang_validation(acme, admin, signed):
    # A backtracking pattern over a long input: bounded, so it ends (either way) at once.
    put_schema(
        admin,
        "evil",
        {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}},
    )

    response = signed.post(acme, {"event_type": "evil", "payload": {"s": "a" * 5000 + "!"}})

    assert response.status_code in (202, 422)


def test_the_command_sets_shows_lists_and_deletes(acme, tmp_path, capsys):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SIGNUP))

    call_command("schemas", "set", "t_acme", "--event-type", "user.signup", "--file", str(path))
    assert "checked from now on" in capsys.readouterr().out
    call_command("schemas", "list", "t_acme", "--json")
    listed = json.loads(capsys.readouterr().out)
    call_command("schemas", "show", "t_acme", "--event-type", "user.signup")
    shown = json.loads(capsys.readouterr().out)
    call_command("schemas", "delete", "t_acme", "--event-type", "user.signup")

    assert [(row["subject_kind"], row["subject"]) for row in listed] == [
        ("event_type", "user.signup")
    ]
    assert shown == SIGNUP
    assert not PayloadSchema.objects.exists()


def test_a_schema_reaches_this_process_at_once(acme):
    # The process that sets a schema forgets its cache; others within TENANT_CACHE_SECONDS.
    from ingest.services import payload_schema_set

    schemas.check_payload(tenant_id=acme.tenant.id, form_id="", event_type="e", payload={})
    payload_schema_set(
        tenant=acme.tenant, subject_kind="event_type", subject="e", schema={"required": ["x"]}
    )

    with pytest.raises(Exception) as refused:
        schemas.check_payload(tenant_id=acme.tenant.id, form_id="", event_type="e", payload={})
    assert refused.value.code == "schema_violation"


def test_the_schema_applies_to_a_providers_webhook_at_a_source(acme, admin, client):
    from tests.sources.test_sources_api import STRIPE_SECRET, stripe_post

    source = admin.post(
        "/v1/sources", {"name": "stripe-live", "preset": "stripe", "secret": STRIPE_SECRET}
    ).json()
    put_schema(
        admin,
        "invoice.paid",
        {"type": "object", "required": ["data"], "properties": {"livemode": {"const": True}}},
    )
    path = "/v1/sources/" + source["url"].rsplit("/", 1)[1]

    refused = stripe_post(
        client,
        path,
        event_id="evt_test",
        body=json.dumps({"id": "evt_test", "type": "invoice.paid", "livemode": False, "data": {}}),
    )
    accepted = stripe_post(client, path, event_id="evt_live", event_type="invoice.paid")

    body = assert_error(refused, 422, "schema_violation")
    assert body["error"]["errors"][0]["pointer"] == "/payload/livemode"
    assert accepted.status_code == 202, accepted.content
    assert Submission.objects.get().event_type == "invoice.paid"
