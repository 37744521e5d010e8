"""The key-authenticated API for destinations (scope: admin): the same services and validation
as manage.py destinations and the admin."""

from __future__ import annotations

from contextlib import contextmanager

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response

from core.errors import ApiError
from core.openapi import error_responses
from tenants.api_base import TenantApiView, validated
from tenants.models import ApiKeyScope

from . import selectors, services
from .serializers import (
    CreatedDestinationSerializer,
    DestinationSerializer,
    DestinationTestResultSerializer,
    DestinationWriteSerializer,
)
from .validation import DestinationInvalid

NAME = OpenApiParameter("name", str, OpenApiParameter.PATH, description="The destination's name.")
CREATE_EXAMPLE = OpenApiExample(
    "signed webhook",
    value={
        "name": "crm",
        "url": "https://hooks.example.com/formbridge",
        "generate_signing_secret": True,
        "filter": {"form_id": ["contact_*"]},
        "retry_schedule": [5, 60, 300],
    },
    request_only=True,
)


@contextmanager
def _as_api_errors():
    try:
        yield
    except DestinationInvalid as exc:
        raise ApiError(
            400, "invalid_destination", str(exc), fields={exc.field: [exc.message]}
        ) from None


def _write_arguments(data: dict) -> dict:
    """The write serializer's fields as service arguments (url is config.url's shorthand)."""
    data = dict(data)
    url = data.pop("url", None)
    if url is not None:
        data["config"] = {**data.get("config", {}), "url": url}
    data.pop("enabled", None)
    return data


class DestinationListView(TenantApiView):
    required_scope = ApiKeyScope.ADMIN

    @extend_schema(
        tags=["destinations"],
        operation_id="destinations_list",
        summary="List destinations (scope: admin)",
        responses={200: DestinationSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        destinations = selectors.destination_list(tenant=self.tenant)
        return Response(DestinationSerializer(destinations, many=True).data)

    @extend_schema(
        tags=["destinations"],
        operation_id="destinations_create",
        summary="Create a destination (scope: admin)",
        description="Validated like the command and the admin: URL and SSRF guard, mapping "
        "compiles, auth mode fields. A generated signing secret is in this response only.",
        request=DestinationWriteSerializer,
        examples=[CREATE_EXAMPLE],
        responses={
            201: CreatedDestinationSerializer,
            **error_responses("invalid_request", "invalid_destination"),
        },
    )
    def post(self, request):
        data = validated(DestinationWriteSerializer, request.data)
        enabled = data.get("enabled", True)
        with _as_api_errors():
            created = services.destination_create(tenant=self.tenant, **_write_arguments(data))
        destination = created.destination
        if not enabled:
            destination = services.destination_set_enabled(destination=destination, enabled=False)
        body = CreatedDestinationSerializer(destination).data
        if created.signing_secret:
            body["signing_secret"] = created.signing_secret
        return Response(body, status=201)


class _DestinationByName(TenantApiView):
    required_scope = ApiKeyScope.ADMIN

    def _destination(self, name: str):
        destination = selectors.destination_get(tenant=self.tenant, name=name)
        if destination is None:
            raise ApiError(404, "not_found", f"No destination {name!r}.")
        return destination


class DestinationDetailView(_DestinationByName):
    @extend_schema(
        tags=["destinations"],
        operation_id="destinations_retrieve",
        summary="One destination (scope: admin)",
        parameters=[NAME],
        responses={200: DestinationSerializer, **error_responses("not_found")},
    )
    def get(self, request, name: str):
        return Response(DestinationSerializer(self._destination(name)).data)

    @extend_schema(
        tags=["destinations"],
        operation_id="destinations_update",
        summary="Change a destination (scope: admin)",
        description="Only the fields given change; the result is validated as a whole. "
        "`enabled: true` re-enables it and resets its health. A `url` on another host (or "
        "scheme, or port) needs `auth_secret` again and drops custom headers not given with it: "
        "credentials never follow a destination to a host they were not entered for.",
        parameters=[NAME],
        request=DestinationWriteSerializer(partial=True),
        responses={
            200: CreatedDestinationSerializer,
            **error_responses("invalid_request", "invalid_destination", "not_found"),
        },
    )
    def patch(self, request, name: str):
        destination = self._destination(name)
        serializer = DestinationWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "url" in data:
            given = data.get("config", {})
            config = {**destination.config, **given}
            if "headers" not in given and services.sends_elsewhere(destination, data["url"]):
                # Custom headers are often credentials: they follow the URL to another host
                # only when given again.
                config.pop("headers", None)
            data = {**data, "config": config}
        with _as_api_errors():
            updated = services.destination_update(destination=destination, **_write_arguments(data))
        destination = updated.destination
        if "enabled" in data and data["enabled"] != destination.enabled:
            destination = services.destination_set_enabled(
                destination=destination, enabled=data["enabled"]
            )
        body = CreatedDestinationSerializer(destination).data
        if updated.signing_secret:
            body["signing_secret"] = updated.signing_secret
        return Response(body)

    @extend_schema(
        tags=["destinations"],
        operation_id="destinations_destroy",
        summary="Delete a destination (scope: admin)",
        description="Its history stays readable on submissions; its open deliveries are "
        "cancelled and its name is free again.",
        parameters=[NAME],
        responses={204: None, **error_responses("not_found")},
    )
    def delete(self, request, name: str):
        services.destination_delete(destination=self._destination(name))
        return Response(status=204)


class DestinationTestView(_DestinationByName):
    @extend_schema(
        tags=["destinations"],
        operation_id="destinations_test",
        summary="Send a test event now and return the attempt (scope: admin)",
        description="Outside the delivery tables: nothing is stored or retried.",
        request=None,
        parameters=[NAME],
        responses={200: DestinationTestResultSerializer, **error_responses("not_found")},
    )
    def post(self, request, name: str):
        destination = self._destination(name)
        if destination.kind == "inbox":
            raise ApiError(400, "invalid_request", "An inbox is pulled, not sent to.")
        outcome = services.destination_test(destination=destination)
        return Response(
            {
                "outcome": outcome.outcome,
                "status_code": outcome.status_code,
                "duration_ms": outcome.duration_ms,
                "error": outcome.error,
                "response_headers": outcome.response_headers,
                "response_body": outcome.response_body,
            }
        )
