"""GET /v1/inbox and POST /v1/ack: pull, lease and acknowledge events (scope: inbox)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from core.http_errors import ApiError
from core.jsontext import compact_json, json_text_response
from core.openapi import error_responses
from tenants.api_base import TenantApiView, query_params, validated
from tenants.models import ApiKeyScope

from ..models import Destination
from . import selectors, services
from .serializers import (
    AckRequestSerializer,
    AckResultSerializer,
    InboxPageSerializer,
    InboxQuerySerializer,
)


def _inbox_of(view: TenantApiView, name: str | None) -> Destination:
    destination = selectors.inbox_destination_get(tenant=view.tenant, name=name)
    if destination is None:
        raise ApiError(
            404,
            "no_inbox",
            f"No inbox destination {name!r}."
            if name
            else "This tenant has no inbox "
            "destination; add one (manage.py destinations add <tenant> inbox --kind inbox).",
        )
    return destination


class InboxView(TenantApiView):
    required_scope = ApiKeyScope.INBOX
    lean_get = True

    @extend_schema(
        tags=["inbox"],
        operation_id="inbox_list",
        summary="Undelivered events, oldest first (scope: inbox)",
        description="A plain GET only reads. With `lease`, each returned event is handed to "
        "this caller alone for that many seconds (competing workers never get the same event "
        "inside the lease); unacknowledged, it becomes visible again. An event leased "
        "`max_attempts` times without an ack goes dead.",
        parameters=[InboxQuerySerializer],
        responses={200: InboxPageSerializer, **error_responses("invalid_request", "no_inbox")},
    )
    def get(self, request):
        query = query_params(request, InboxQuerySerializer)
        page = services.inbox_read(
            destination=_inbox_of(self, query.get("inbox")),
            limit=query["limit"],
            cursor=query.get("cursor"),
            lease_seconds=query.get("lease"),
        )
        body = {"events": page.events, "next_cursor": page.next_cursor}
        return json_text_response(compact_json(body))


class AckView(TenantApiView):
    required_scope = ApiKeyScope.INBOX

    @extend_schema(
        tags=["inbox"],
        operation_id="ack_create",
        summary="Acknowledge events (scope: inbox)",
        description="Idempotent and all-or-nothing: an id that is not an event of this inbox "
        "(another tenant's, say) is 404 and nothing in the batch is acknowledged.",
        request=AckRequestSerializer,
        examples=[
            OpenApiExample("one", value={"event_id": "evt_b1cb3"}, request_only=True),
            OpenApiExample("batch", value={"event_ids": ["evt_1", "evt_2"]}, request_only=True),
        ],
        responses={
            200: AckResultSerializer,
            **error_responses("invalid_request", "event_not_found", "no_inbox"),
        },
    )
    def post(self, request):
        data = validated(AckRequestSerializer, request.data)
        ids = data.get("event_ids") or [data["event_id"]]
        result = services.inbox_ack(
            tenant=self.tenant, destination=_inbox_of(self, data.get("inbox")), event_ids=ids
        )
        return Response({"status": "acknowledged", "acknowledged": result.acknowledged})
