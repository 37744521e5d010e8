"""The read API's GETs answer without DRF's request wrapping (tenants.api_base.lean_get), with
the same authentication, scope check and error shapes as DRF's path."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from rest_framework.views import APIView

from delivery.inbox.api import InboxView
from ingest.api import SubmissionDetailView, SubmissionListView
from tests.conftest import assert_error
from tests.factories import tenant_with_secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_drf_request(monkeypatch):
    """Any GET that goes through DRF's dispatch fails loudly."""

    def refuse(self, request, *args, **kwargs):
        raise AssertionError(f"{type(self).__name__} wrapped a GET in a DRF Request")

    monkeypatch.setattr(APIView, "initialize_request", refuse)


@pytest.mark.parametrize("view", [SubmissionListView, SubmissionDetailView, InboxView])
def test_the_read_views_are_lean(view):
    assert view.lean_get is True


def test_list_and_inbox_answer_without_drf(no_drf_request, api):
    client = api(tenant_with_secret("t_lean", with_inbox=True), scopes=["read", "inbox"])
    listed = client.get("/v1/submissions")
    assert listed.status_code == 200, listed.content
    assert listed.json() == {"items": [], "next_cursor": None}
    assert listed["Content-Type"] == "application/json"
    inbox = client.get("/v1/inbox")
    assert inbox.status_code == 200, inbox.content
    assert inbox.json() == {"events": [], "next_cursor": None}


def test_refusals_keep_their_shapes(no_drf_request, api, client):
    reader = api(tenant_with_secret("t_lean", with_inbox=True), scopes=["read"])
    bad = assert_error(reader.get("/v1/submissions", limit=0), 400, "invalid_request")
    assert "limit" in bad["error"]["fields"]
    assert_error(reader.get("/v1/inbox"), 403, "insufficient_scope")
    assert_error(reader.get("/v1/submissions/nope"), 404, "not_found")
    missing = client.get("/v1/submissions/abc")
    assert_error(missing, 401, "missing_api_key")
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert missing["Content-Type"] == "application/json"


def test_a_database_outage_is_503(no_drf_request, monkeypatch, api):
    client = api(tenant_with_secret("t_lean"), scopes=["read"])

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(SubmissionListView, "get", down)
    response = assert_error(client.get("/v1/submissions"), 503, "database_unavailable")
    assert response["error"]["message"]


def test_query_fields_are_built_once_and_hold_no_request_state():
    from django.test import RequestFactory
    from rest_framework import serializers

    from ingest.serializers import SubmissionQuerySerializer
    from tenants.api_base import _query_fields, query_params

    factory = RequestFactory()
    first = query_params(
        factory.get("/v1/submissions?limit=10&form_id=a"), SubmissionQuerySerializer
    )
    second = query_params(factory.get("/v1/submissions?source=b"), SubmissionQuerySerializer)
    assert (first["limit"], first["form_id"]) == (10, "a")
    assert second["limit"] == 50 and "form_id" not in second and second["source"] == "b"
    fields = _query_fields(SubmissionQuerySerializer)
    assert fields is _query_fields(SubmissionQuerySerializer)

    class Nested(serializers.Serializer):
        inner = SubmissionQuerySerializer()

    with pytest.raises(TypeError, match="not a scalar query field"):
        _query_fields(Nested)
