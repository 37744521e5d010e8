"""The key-authenticated API over submissions: query, detail, replay, erase."""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from core.errors import NotFound
from core.jsontext import compact_json, json_text_response
from core.openapi import error_responses
from delivery import selectors as delivery_selectors
from delivery import services as delivery_services
from delivery.models import Destination
from tenants.api_base import TenantApiView, query_params, validated
from tenants.models import ApiKeyScope

from . import erasure, rendered_pages, selectors
from .models import Submission
from .serializers import (
    EraseResultSerializer,
    ReplayRequestSerializer,
    ReplayResultSerializer,
    SubmissionDetailSerializer,
    SubmissionPageSerializer,
    SubmissionQuerySerializer,
    delivery_data,
    submission_data,
)

SUBMISSION_ID = OpenApiParameter(
    "submission_id", str, OpenApiParameter.PATH, description="The public submission id."
)


def _no_submission(submission_id: str) -> NotFound:
    return NotFound(f"No submission {submission_id!r}.")


class SubmissionListView(TenantApiView):
    required_scope = ApiKeyScope.READ
    lean_get = True

    @extend_schema(
        tags=["submissions"],
        operation_id="submissions_list",
        summary="List submissions, newest first (scope: read)",
        parameters=[SubmissionQuerySerializer],
        responses={
            200: SubmissionPageSerializer,
            **error_responses("invalid_request", "invalid_cursor"),
        },
    )
    def get(self, request):
        query = query_params(request, SubmissionQuerySerializer)
        if rendered_pages.supported():
            # PostgreSQL renders each item's JSON (ingest/rendered_pages.py): only joined here.
            items, next_cursor = rendered_pages.rendered_page(tenant_id=self.tenant.id, **query)
        else:
            page = selectors.submission_list(tenant=self.tenant, **query)
            items = [
                compact_json(
                    submission_data(submission, page.delivery_counts.get(submission["id"], {}))
                )
                for submission in page.items
            ]
            next_cursor = page.next_cursor
        body = f'{{"items":[{",".join(items)}],"next_cursor":{json.dumps(next_cursor)}}}'
        return json_text_response(body)


class SubmissionDetailView(TenantApiView):
    lean_get = True

    @property
    def required_scope(self) -> str:
        return ApiKeyScope.ADMIN if self.request.method == "DELETE" else ApiKeyScope.READ

    @extend_schema(
        tags=["submissions"],
        operation_id="submissions_retrieve",
        summary="One submission with its deliveries and every attempt (scope: read)",
        parameters=[SUBMISSION_ID],
        responses={200: SubmissionDetailSerializer, **error_responses("not_found")},
    )
    def get(self, request, submission_id: str):
        if rendered_pages.supported():
            # PostgreSQL renders it whole (ingest/rendered_pages.py).
            text = rendered_pages.rendered_detail(
                tenant_id=self.tenant.id, submission_id=submission_id
            )
            if text is None:
                raise _no_submission(submission_id)
            return json_text_response(text)
        detail = selectors.submission_detail(tenant=self.tenant, submission_id=submission_id)
        if detail is None:
            raise _no_submission(submission_id)
        body = submission_data(detail.submission)
        body["deliveries"] = [delivery_data(*parts) for parts in detail.deliveries]
        return json_text_response(compact_json(body))

    @extend_schema(
        tags=["submissions"],
        operation_id="submissions_erase",
        summary="Erase a submission's personal data (GDPR Art. 17; scope: admin)",
        description="Removes its payload, attachments and IP, cancels its open and inbox "
        "deliveries and clears the response bodies and headers of its attempts. The id is "
        "kept as a tombstone: a resend of the same `submission_id` (or a provider's retry) is "
        "`200 duplicate`, not a new lead; `GET` of it is `404` from now on. Erasing again "
        "answers the same.",
        parameters=[SUBMISSION_ID],
        request=None,
        responses={200: EraseResultSerializer, **error_responses("not_found")},
    )
    def delete(self, request, submission_id: str):
        tombstone = Submission.objects.filter(
            tenant=self.tenant, submission_id=submission_id, erased_at__isnull=False
        ).exists()
        if not tombstone:
            matching = erasure.submissions_matching(tenant=self.tenant, submission_id=submission_id)
            result = erasure.submissions_erase(
                tenant=self.tenant, submissions=matching, actor=f"api key {request.auth.prefix}"
            )
            if not result.submission_ids:
                raise _no_submission(submission_id)
        return Response({"submission_id": submission_id, "status": "erased"})


class SubmissionReplayView(TenantApiView):
    required_scope = ApiKeyScope.ADMIN

    @extend_schema(
        tags=["submissions"],
        operation_id="submissions_replay",
        summary="Deliver a submission again (scope: admin)",
        description="Requeues its finished or dead deliveries (all, or to the named "
        "destinations) through the normal delivery path; a named destination it never had a "
        "delivery to gets one if its filter matches.",
        parameters=[SUBMISSION_ID],
        request=ReplayRequestSerializer,
        responses={
            202: ReplayResultSerializer,
            **error_responses("invalid_request", "not_found"),
        },
    )
    def post(self, request, submission_id: str):
        names = validated(ReplayRequestSerializer, request.data).get("destinations")
        if selectors.submission_get(tenant=self.tenant, submission_id=submission_id) is None:
            raise _no_submission(submission_id)
        targets: list[Destination | None] = [None]
        if names:
            targets = []
            for name in dict.fromkeys(names):
                destination = delivery_selectors.destination_get(tenant=self.tenant, name=name)
                if destination is None:
                    raise NotFound(f"No destination {name!r}.")
                targets.append(destination)
        requeued = created = 0
        for destination in targets:
            result = delivery_services.deliveries_replay(
                tenant=self.tenant,
                submission_ids=[submission_id],
                destination=destination,
                status="all",
            )
            requeued += result.requeued
            created += result.created
        return Response({"requeued": requeued, "created": created}, status=202)
