"""The base of the key-authenticated JSON API views (query, inbox, destinations)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from core.http_errors import ApiError
from tenants.authentication import ApiKeyAuthentication, HasScope
from tenants.models import Tenant


class TenantApiView(APIView):
    """Every query below is scoped to the key's tenant: `self.tenant`, never a request field."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope]
    required_scope: str

    @property
    def tenant(self) -> Tenant:
        return self.request.user


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate query or body data; errors become 400 invalid_request with the fields."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def query_params(request: Request, serializer_class: type[serializers.Serializer]) -> dict:
    # A repeated parameter is ambiguous: refuse it rather than pick one.
    repeated = [name for name, values in request.query_params.lists() if len(values) > 1]
    if repeated:
        raise ApiError(400, "invalid_request", f"Give {repeated[0]!r} once.")
    return validated(serializer_class, request.query_params.dict())


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer fb_live_...` from `manage.py apikeys create`; "
            "each endpoint names the scope it needs (ingest, read, inbox, admin).",
        }
