"""PUT|GET|DELETE /v1/event-types/{event_type}/schema: the JSON Schema every payload of an
event type must match (scope: admin). A form's schema is part of the form (/v1/forms)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.errors import NotFound
from core.openapi import error_responses
from core.parsers import BoundedJSONParser
from core.serializers import UtcDateTimeField
from core.timeutil import isoformat_z
from tenants.api_base import TenantApiView
from tenants.models import ApiKeyScope

from . import selectors, services
from .models import SchemaSubject

EVENT_TYPE = OpenApiParameter(
    "event_type",
    str,
    OpenApiParameter.PATH,
    description="The event type, as submissions carry it (checkout.session.completed, push).",
)
EXAMPLE = OpenApiExample(
    "A signup event",
    value={
        "type": "object",
        "required": ["email"],
        "properties": {"email": {"type": "string", "format": "email"}},
    },
    request_only=True,
)


class EventTypeSchemaSerializer(serializers.Serializer):
    event_type = serializers.CharField()
    schema = serializers.JSONField(help_text="A JSON Schema, Draft 2020-12.")
    updated_at = UtcDateTimeField()


def schema_body(row) -> dict:
    return {
        "event_type": row.subject,
        "schema": row.schema,
        "updated_at": isoformat_z(row.updated_at),
    }


class EventTypeSchemaView(TenantApiView):
    required_scope = ApiKeyScope.ADMIN
    parser_classes = [BoundedJSONParser]  # the body is the schema: JSON only

    @extend_schema(
        tags=["schemas"],
        operation_id="event_type_schema_retrieve",
        summary="The JSON Schema of an event type (scope: admin)",
        parameters=[EVENT_TYPE],
        responses={200: EventTypeSchemaSerializer, **error_responses("not_found")},
    )
    def get(self, request, event_type: str):
        row = selectors.payload_schema_get(
            tenant=self.tenant, subject_kind=SchemaSubject.EVENT_TYPE, subject=event_type
        )
        if row is None:
            raise NotFound(f"No schema for event type {event_type!r}.")
        return Response(schema_body(row))

    @extend_schema(
        tags=["schemas"],
        operation_id="event_type_schema_set",
        summary="Set the JSON Schema its payloads must match (scope: admin)",
        description="The body is the schema itself (Draft 2020-12; remote `$ref`s are not "
        "fetched). From then on, a payload of this event type that does not match it is refused "
        "with `422 schema_violation` on every way in, and nothing is stored. Every process "
        "applies it within TENANT_CACHE_SECONDS.",
        parameters=[EVENT_TYPE],
        request={"application/json": {"type": "object"}},
        examples=[EXAMPLE],
        responses={
            200: EventTypeSchemaSerializer,
            **error_responses("invalid_schema", "not_found", "unsupported_media_type"),
        },
    )
    def put(self, request, event_type: str):
        row = services.payload_schema_set(
            tenant=self.tenant,
            subject_kind=SchemaSubject.EVENT_TYPE,
            subject=event_type,
            schema=request.data,
        )
        return Response(schema_body(row))

    @extend_schema(
        tags=["schemas"],
        operation_id="event_type_schema_delete",
        summary="Stop checking payloads of this event type (scope: admin)",
        parameters=[EVENT_TYPE],
        responses={204: None, **error_responses("not_found")},
    )
    def delete(self, request, event_type: str):
        services.payload_schema_delete(
            tenant=self.tenant, subject_kind=SchemaSubject.EVENT_TYPE, subject=event_type
        )
        return Response(status=204)
