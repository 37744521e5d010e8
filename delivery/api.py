"""The key-authenticated API for destinations (scope: admin): the same services and validation
as manage.py destinations and the admin."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response

from core.errors import NotFound
from core.openapi import error_responses
from tenants.api_base import TenantApiView, validated
from tenants.models import ApiKeyScope

from . import selectors, services
from .serializers import (
    CreatedDestinationSerializer,
    DestinationSerializer,
    DestinationTestResultSerializer,
    DestinationWriteSerializer,
    RotatedSecretSerializer,
    RotateSecretSerializer,
)

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
        created = services.destination_create(tenant=self.tenant, **data)
        body = CreatedDestinationSerializer(created.destination).data
        if created.signing_secret:
            body["signing_secret"] = created.signing_secret
        return Response(body, status=201)


class _DestinationByName(TenantApiView):
    required_scope = ApiKeyScope.ADMIN

    def _destination(self, name: str):
        destination = selectors.destination_get(tenant=self.tenant, name=name)
        if destination is None:
            raise NotFound(f"No destination {name!r}.")
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
        updated = services.destination_update(destination=destination, **serializer.validated_data)
        body = CreatedDestinationSerializer(updated.destination).data
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
        outcome = services.destination_test(destination=self._destination(name))
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


class DestinationRotateSecretView(_DestinationByName):
    @extend_schema(
        tags=["destinations"],
        operation_id="destinations_rotate_secret",
        summary="Rotate the signing secret, with an overlap (scope: admin)",
        description="A new signing secret, shown once. Until the overlap ends every webhook "
        "carries two signatures in `webhook-signature` (`v1,<new> v1,<old>`), so a receiver "
        "verifying with either secret accepts it; then only the new one signs.",
        parameters=[NAME],
        request=RotateSecretSerializer,
        responses={
            200: RotatedSecretSerializer,
            **error_responses("invalid_request", "invalid_destination", "not_found"),
        },
    )
    def post(self, request, name: str):
        destination = self._destination(name)
        options = validated(RotateSecretSerializer, request.data)
        rotated = services.destination_rotate_secret(
            destination=destination, overlap_hours=options.get("overlap_hours")
        )
        return Response(
            RotatedSecretSerializer(
                {
                    "name": destination.name,
                    "signing_secret": rotated.signing_secret,
                    "previous_secrets_expire_at": rotated.previous_secrets_expire_at,
                }
            ).data
        )
