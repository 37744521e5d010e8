"""The key-authenticated API over submissions: query, detail, replay, and the pull inbox."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response

from core.errors import ApiError
from core.openapi import error_responses
from delivery import inbox
from delivery import selectors as delivery_selectors
from delivery import services as delivery_services
from delivery.models import Destination
from tenants.api_base import TenantApiView, query_params, validated
from tenants.models import ApiKeyScope

from . import erasure, selectors
from .models import Submission
from .serializers import (
    AckRequestSerializer,
    AckResultSerializer,
    EraseResultSerializer,
    InboxPageSerializer,
    InboxQuerySerializer,
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


def _no_submission(submission_id: str) -> ApiError:
    return ApiError(404, "not_found", f"No submission {submission_id!r}.")


class SubmissionListView(TenantApiView):
    required_scope = ApiKeyScope.READ

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
        page = selectors.submission_list(tenant=self.tenant, **query)
        items = [
            submission_data(submission, page.delivery_counts.get(submission["id"], {}))
            for submission in page.items
        ]
        return Response({"items": items, "next_cursor": page.next_cursor})


class SubmissionDetailView(TenantApiView):
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
        detail = selectors.submission_detail(tenant=self.tenant, submission_id=submission_id)
        if detail is None:
            raise _no_submission(submission_id)
        body = submission_data(detail.submission)
        body["deliveries"] = [delivery_data(*parts) for parts in detail.deliveries]
        return Response(body)

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
                    raise ApiError(404, "not_found", f"No destination {name!r}.")
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


def _inbox_of(view: TenantApiView, name: str | None) -> Destination:
    destination = delivery_selectors.inbox_destination_get(tenant=view.tenant, name=name)
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
        page = inbox.inbox_read(
            destination=_inbox_of(self, query.get("inbox")),
            limit=query["limit"],
            cursor=query.get("cursor"),
            lease_seconds=query.get("lease"),
        )
        return Response({"events": page.events, "next_cursor": page.next_cursor})


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
        result = inbox.inbox_ack(
            tenant=self.tenant, destination=_inbox_of(self, data.get("inbox")), event_ids=ids
        )
        return Response({"status": "acknowledged", "acknowledged": result.acknowledged})
