"""The OpenAPI document: complete, valid, and true of the running app (schemathesis)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from formbridge.wsgi import application
from tests.factories import tenant_with_secret

# Bounded so `make test` stays quick; raise it locally with FORMBRIDGE_SCHEMATHESIS_EXAMPLES.
MAX_EXAMPLES = 30
ENDPOINTS = {
    ("POST", "/v1/ingest"),
    ("POST", "/v1/verify"),
    ("POST", "/v1/events"),
    ("GET", "/v1/inbox"),
    ("POST", "/v1/ack"),
    ("GET", "/v1/submissions"),
    ("GET", "/v1/submissions/{submission_id}"),
    ("DELETE", "/v1/submissions/{submission_id}"),
    ("POST", "/v1/submissions/{submission_id}/replay"),
    ("GET", "/v1/destinations"),
    ("POST", "/v1/destinations"),
    ("GET", "/v1/destinations/{name}"),
    ("PATCH", "/v1/destinations/{name}"),
    ("DELETE", "/v1/destinations/{name}"),
    ("POST", "/v1/destinations/{name}/test"),
    ("POST", "/v1/destinations/{name}/rotate-secret"),
    ("GET", "/v1/sources"),
    ("POST", "/v1/sources"),
    ("GET", "/v1/sources/{name}"),
    ("POST", "/v1/sources/{name}"),
    ("PATCH", "/v1/sources/{name}"),
    ("DELETE", "/v1/sources/{name}"),
    ("POST", "/v1/sources/{name}/rotate-secret"),
    ("GET", "/v1/forms"),
    ("POST", "/v1/forms"),
    ("GET", "/v1/forms/{form_id}"),
    ("PATCH", "/v1/forms/{form_id}"),
    ("DELETE", "/v1/forms/{form_id}"),
    ("POST", "/f/{form_key}"),
    ("GET", "/v1/files/{token}"),
    ("GET", "/v1/event-types/{event_type}/schema"),
    ("PUT", "/v1/event-types/{event_type}/schema"),
    ("DELETE", "/v1/event-types/{event_type}/schema"),
}


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the real WSGI entry point in this process; like Django's test client,
    keep its end-of-request hook from closing the test's connection (and transaction)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def full_key(db):
    from tenants.services import api_key_create

    created = tenant_with_secret("t_fuzz", with_inbox=True)
    return api_key_create(tenant=created.tenant, scopes=["ingest", "read", "inbox", "admin"]).key


def test_every_endpoint_is_documented_with_its_errors(client):
    document = client.get("/v1/schema", HTTP_ACCEPT="application/json").json()

    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "patch", "delete", "put")
    }
    assert operations == ENDPOINTS
    for path, item in document["paths"].items():
        for method, operation in item.items():
            codes = {code for code in operation["responses"] if code.startswith(("4", "5"))}
            assert codes, f"{method} {path} documents no error response"
    ingest = document["paths"]["/v1/ingest"]["post"]
    assert {p["name"] for p in ingest["parameters"]} >= {
        "X-Tenant-Id",
        "X-Timestamp",
        "X-Signature",
    }
    assert "invalid_signature" in ingest["responses"]["401"]["description"]


def test_the_docs_page_is_served_without_a_cdn(client):
    page = client.get("/v1/docs")

    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html
    asset = html.split('src="')[1].split('"')[0]
    assert client.get(asset).status_code == 200


# Loaded at collection from the app itself (schema generation touches no database).
schema = schemathesis.openapi.from_wsgi("/v1/schema", application)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_never_fails_and_keeps_to_its_schema(case, full_key):
    response = case.call(headers={"Authorization": f"Bearer {full_key}"})

    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
