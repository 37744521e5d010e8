"""The key-authenticated API for browser forms (scope: admin): the same services as
`manage.py forms` and the admin."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response

from core.errors import NotFound
from core.openapi import error_responses
from tenants.api_base import TenantApiView, validated
from tenants.models import ApiKeyScope

from . import selectors, services
from .serializers import FormSerializer, FormUpdateSerializer, FormWriteSerializer

FORM_ID = OpenApiParameter("form_id", str, OpenApiParameter.PATH, description="The form's id.")
CREATE_EXAMPLE = OpenApiExample(
    "A contact form",
    value={
        "form_id": "contact",
        "allowed_origins": ["https://www.example.com"],
        "redirect_url": "https://www.example.com/thanks",
        "honeypot_field": "_gotcha",
        "schema": {
            "type": "object",
            "required": ["email"],
            "properties": {"email": {"type": "string", "format": "email"}},
        },
    },
    request_only=True,
)


class _FormApiView(TenantApiView):
    required_scope = ApiKeyScope.ADMIN

    def _body(self, form) -> dict:
        origin = f"{self.request.scheme}://{self.request.get_host()}"
        context = {
            "action_url_of": lambda f: selectors.action_url(f, origin),
            "schema_of": selectors.form_schema,
        }
        return FormSerializer(form, context=context).data

    def _form(self, form_id: str):
        form = selectors.form_get(tenant=self.tenant, form_id=form_id)
        if form is None:
            raise NotFound(f"No form {form_id!r}.")
        return form


class FormListView(_FormApiView):
    @extend_schema(
        tags=["forms"],
        operation_id="forms_list",
        summary="List browser forms (scope: admin)",
        responses={200: FormSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        return Response([self._body(f) for f in selectors.form_list(tenant=self.tenant)])

    @extend_schema(
        tags=["forms"],
        operation_id="forms_create",
        summary="Create a browser form: an action URL a plain HTML form posts to (scope: admin)",
        description="`action_url` goes in the page's `<form action>`. Posts are taken from the "
        "allowed origins only (empty: any); a filled honeypot field is kept as spam; with a "
        "`schema`, a post that does not match it is refused with `422 schema_violation`.",
        request=FormWriteSerializer,
        examples=[CREATE_EXAMPLE],
        responses={201: FormSerializer, **error_responses("invalid_request", "invalid_schema")},
    )
    def post(self, request):
        data = validated(FormWriteSerializer, request.data)
        form = services.form_create(tenant=self.tenant, **data)
        return Response(self._body(form), status=201)


class FormDetailView(_FormApiView):
    @extend_schema(
        tags=["forms"],
        operation_id="forms_retrieve",
        summary="One browser form (scope: admin)",
        parameters=[FORM_ID],
        responses={200: FormSerializer, **error_responses("not_found")},
    )
    def get(self, request, form_id: str):
        return Response(self._body(self._form(form_id)))

    @extend_schema(
        tags=["forms"],
        operation_id="forms_update",
        summary="Change a browser form's settings or schema (scope: admin)",
        description="Only what is given changes; `schema: null` removes the schema.",
        parameters=[FORM_ID],
        request=FormUpdateSerializer,
        responses={
            200: FormSerializer,
            **error_responses("invalid_request", "invalid_schema", "not_found"),
        },
    )
    def patch(self, request, form_id: str):
        data = validated(FormUpdateSerializer, request.data)
        return Response(self._body(services.form_update(form=self._form(form_id), **data)))

    @extend_schema(
        tags=["forms"],
        operation_id="forms_destroy",
        summary="Delete a browser form (scope: admin)",
        description="Its action URL answers 404 from now on and its schema goes; what it "
        "stored stays.",
        parameters=[FORM_ID],
        responses={204: None, **error_responses("not_found")},
    )
    def delete(self, request, form_id: str):
        services.form_delete(form=self._form(form_id))
        return Response(status=204)
