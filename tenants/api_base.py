"""The base of the key-authenticated JSON API views (query, inbox, destinations)."""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.http_errors import ApiError, drf_exception_handler
from core.jsontext import compact_json, json_text_response
from tenants.authentication import ApiKeyAuthentication, HasScope, authenticate_api_key
from tenants.models import Tenant


class TenantApiView(APIView):
    """Every query below is scoped to the key's tenant: `self.tenant`, never a request field."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope]
    required_scope: str

    # A view whose GET returns a plain HttpResponse sets this: its GET then answers without
    # DRF's request wrapping, negotiation and rendering, about a fifth of a page read's time
    # (the read path's hot loop; make bench-scale). The same authentication, scope check and
    # error shapes; every other method, and the OpenAPI document, stay DRF's.
    lean_get = False

    @property
    def tenant(self) -> Tenant:
        return self.request.user

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not (self.lean_get and request.method == "GET"):
            return super().dispatch(request, *args, **kwargs)
        self.args, self.kwargs, self.request = args, kwargs, request
        try:
            api_key = authenticate_api_key(request, scope=self.required_scope)
            request.user, request.auth = api_key.tenant, api_key
            return self.get(request, *args, **kwargs)
        except Exception as exc:
            return self._lean_refusal(exc, request)

    def _lean_refusal(self, exc: Exception, request: HttpRequest) -> HttpResponse:
        response = drf_exception_handler(exc, {"view": self, "request": request})
        if response is None:
            raise exc
        if isinstance(response, Response):  # DRF's own exceptions (a serializer's errors)
            text = compact_json(response.data)
            rendered = json_text_response(text, status=response.status_code)
            for name, value in response.items():
                if name.lower() != "content-type":
                    rendered[name] = value
            return rendered
        return response


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate query or body data; errors become 400 invalid_request with the fields."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def query_params(
    request: Request | HttpRequest, serializer_class: type[serializers.Serializer]
) -> dict:
    # request.GET: a DRF request's query_params, or a lean GET's own.
    # A repeated parameter is ambiguous: refuse it rather than pick one.
    repeated = [name for name, values in request.GET.lists() if len(values) > 1]
    if repeated:
        raise ApiError(400, "invalid_request", f"Give {repeated[0]!r} once.")
    serializer = serializer_class(data=request.GET.dict())
    # The class's fields, built and bound once: DRF deep-copies every declared field for each
    # instance, 0.15 ms of a page read. A query's fields are flat scalars that validation only
    # reads, so one set serves every request (and thread).
    serializer.__dict__["fields"] = _query_fields(serializer_class)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@functools.cache
def _query_fields(serializer_class: type[serializers.Serializer]):
    fields = serializer_class().fields
    nested = [
        name for name, field in fields.items() if isinstance(field, serializers.BaseSerializer)
    ]
    if nested:  # not flat: a nested serializer keeps state while it validates
        raise TypeError(f"{serializer_class.__name__}.{nested[0]} is not a scalar query field")
    return fields


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
