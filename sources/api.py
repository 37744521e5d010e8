"""The key-authenticated API for sources (scope: admin): the same services as manage.py sources
and the admin."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response

from core.errors import NotFound
from core.openapi import error_responses
from tenants.api_base import TenantApiView, validated
from tenants.models import ApiKeyScope

from . import selectors, services
from .serializers import (
    CreatedSourceSerializer,
    RotateSecretSerializer,
    SourceSerializer,
    SourceUpdateSerializer,
    SourceWriteSerializer,
)
from .views import source_receive_view

NAME = OpenApiParameter(
    "name",
    str,
    OpenApiParameter.PATH,
    description="The source's name (for POST to /v1/sources/{name}: its URL token, src_...).",
)
CREATE_EXAMPLE = OpenApiExample(
    "Stripe endpoint",
    value={"name": "stripe-live", "preset": "stripe", "secret": "whsec_..."},
    request_only=True,
)


class _SourceApiView(TenantApiView):
    required_scope = ApiKeyScope.ADMIN

    def _url_of(self, source) -> str:
        origin = f"{self.request.scheme}://{self.request.get_host()}"
        return selectors.source_url(source, origin)

    def _body(self, source, secret: str | None = None, *, created: bool = False) -> dict:
        serializer = CreatedSourceSerializer if created else SourceSerializer
        body = serializer(source, context={"url_of": self._url_of}).data
        if secret:
            body["secret"] = secret
        return body

    def _source(self, name: str):
        source = selectors.source_get(tenant=self.tenant, name=name)
        if source is None:
            raise NotFound(f"No source {name!r}.")
        return source


class SourceListView(_SourceApiView):
    @extend_schema(
        tags=["sources"],
        operation_id="sources_list",
        summary="List sources (scope: admin)",
        responses={200: SourceSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        return Response([self._body(s) for s in selectors.source_list(tenant=self.tenant)])

    @extend_schema(
        tags=["sources"],
        operation_id="sources_create",
        summary="Create a source: a URL a provider posts its webhooks to (scope: admin)",
        description="`url` is where the provider sends; its requests are verified with "
        "the preset's rules and this secret. A generated secret is in this response only.",
        request=SourceWriteSerializer,
        examples=[CREATE_EXAMPLE],
        responses={201: CreatedSourceSerializer, **error_responses("invalid_request")},
    )
    def post(self, request):
        data = validated(SourceWriteSerializer, request.data)
        created = services.source_create(tenant=self.tenant, **data)
        return Response(self._body(created.source, created.secret, created=True), status=201)


class SourceDetailView(_SourceApiView):
    def dispatch(self, request, *args, **kwargs):
        # POST to this path is a provider's webhook at the source's URL token: authenticated by
        # the provider's signature, not an API key, and answered by the lean view.
        if request.method == "POST":
            return source_receive_view(request, token=kwargs["name"])
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        tags=["sources"],
        operation_id="sources_retrieve",
        summary="One source (scope: admin)",
        parameters=[NAME],
        responses={200: SourceSerializer, **error_responses("not_found")},
    )
    def get(self, request, name: str):
        return Response(self._body(self._source(name)))

    @extend_schema(
        tags=["sources"],
        operation_id="sources_update",
        summary="Rename a source, change its options, or disable it (scope: admin)",
        description="The preset is fixed: another provider is another source. A disabled "
        "source's URL answers 404 not_found.",
        parameters=[NAME],
        request=SourceUpdateSerializer,
        responses={
            200: SourceSerializer,
            **error_responses("invalid_request", "not_found"),
        },
    )
    def patch(self, request, name: str):
        data = validated(SourceUpdateSerializer, request.data)
        return Response(self._body(services.source_update(source=self._source(name), **data)))

    @extend_schema(
        tags=["sources"],
        operation_id="sources_destroy",
        summary="Delete a source (scope: admin)",
        description="Its URL answers 404 from now on; what it stored stays.",
        parameters=[NAME],
        responses={204: None, **error_responses("not_found")},
    )
    def delete(self, request, name: str):
        services.source_delete(source=self._source(name))
        return Response(status=204)


class SourceRotateSecretView(_SourceApiView):
    @extend_schema(
        tags=["sources"],
        operation_id="sources_rotate_secret",
        summary="Add a new secret; the current ones verify for the overlap (scope: admin)",
        parameters=[NAME],
        request=RotateSecretSerializer,
        responses={
            200: CreatedSourceSerializer,
            **error_responses("invalid_request", "not_found"),
        },
    )
    def post(self, request, name: str):
        data = validated(RotateSecretSerializer, request.data)
        rotated = services.source_rotate_secret(source=self._source(name), **data)
        return Response(self._body(rotated.source, rotated.secret, created=True))
