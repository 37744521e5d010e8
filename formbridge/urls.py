from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path, register_converter
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import storable
from core.http_errors import error_response
from delivery import api as delivery_api
from delivery.inbox import api as inbox_api
from delivery.validation import NAME_PATTERN
from ingest import api as ingest_api
from ingest import downloads, schema_api
from ingest import views as ingest_views
from reporting import views as reporting_views
from sources import api as sources_api
from webforms import api as webforms_api
from webforms import views as webforms_views

from . import health, metrics_endpoint


class _Converter:
    """A path parameter that only ever matches a value our stores can hold: anything else is
    404 before a view (or the database) sees it."""

    regex: str

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class PublicIdConverter(_Converter):
    regex = storable.PUBLIC_ID_REGEX


class DestinationNameConverter(_Converter):
    regex = NAME_PATTERN.pattern


class SourceKeyConverter(_Converter):
    """A source's name or its URL token (src_ and 40 letters or digits)."""

    regex = r"[A-Za-z0-9_-]{1,64}"


class EventTypeConverter(_Converter):
    """An event type as providers spell them: dots, slashes (Shopify's orders/create)."""

    regex = r"[^?#\x00-\x1f]{1,128}?"


class FormKeyConverter(_Converter):
    regex = r"frm_[A-Za-z0-9]{1,60}"


class FormIdConverter(_Converter):
    regex = r"[A-Za-z0-9_.:-]{1,128}"


register_converter(PublicIdConverter, "public_id")
register_converter(FormKeyConverter, "form_key")
register_converter(FormIdConverter, "form_id")
register_converter(EventTypeConverter, "event_type")
register_converter(SourceKeyConverter, "source_key")
register_converter(DestinationNameConverter, "destination_name")

admin.site.site_header = "FormBridge operations"
admin.site.site_title = "FormBridge"
admin.site.index_title = "Tenants, destinations, submissions and deliveries"

urlpatterns = [
    re_path(r"^v1/ingest/?$", ingest_views.ingest, name="ingest"),
    re_path(r"^v1/verify/?$", ingest_views.verify, name="verify"),
    re_path(r"^v1/events/?$", ingest_views.events, name="events"),
    path("v1/inbox", inbox_api.InboxView.as_view(), name="inbox"),
    path("v1/ack", inbox_api.AckView.as_view(), name="ack"),
    path("v1/submissions", ingest_api.SubmissionListView.as_view(), name="submissions"),
    path(
        "v1/submissions/<public_id:submission_id>",
        ingest_api.SubmissionDetailView.as_view(),
        name="submission",
    ),
    path(
        "v1/submissions/<public_id:submission_id>/replay",
        ingest_api.SubmissionReplayView.as_view(),
        name="submission-replay",
    ),
    path("v1/destinations", delivery_api.DestinationListView.as_view(), name="destinations"),
    path(
        "v1/destinations/<destination_name:name>",
        delivery_api.DestinationDetailView.as_view(),
        name="destination",
    ),
    path(
        "v1/destinations/<destination_name:name>/test",
        delivery_api.DestinationTestView.as_view(),
        name="destination-test",
    ),
    path(
        "v1/destinations/<destination_name:name>/rotate-secret",
        delivery_api.DestinationRotateSecretView.as_view(),
        name="destination-rotate-secret",
    ),
    path("v1/sources", sources_api.SourceListView.as_view(), name="sources"),
    # POST: a provider's webhook at the source's URL token; GET/PATCH/DELETE: the source by name.
    path("v1/sources/<source_key:name>", sources_api.SourceDetailView.as_view(), name="source"),
    path(
        "v1/sources/<source_key:name>/rotate-secret",
        sources_api.SourceRotateSecretView.as_view(),
        name="source-rotate-secret",
    ),
    path(
        "v1/event-types/<event_type:event_type>/schema",
        schema_api.EventTypeSchemaView.as_view(),
        name="event-type-schema",
    ),
    path("v1/forms", webforms_api.FormListView.as_view(), name="forms"),
    path("v1/forms/<form_id:form_id>", webforms_api.FormDetailView.as_view(), name="form"),
    path("f/<form_key:form_key>", webforms_views.form_post_view, name="form-post"),
    path("v1/files/<str:token>", downloads.file_download, name="file-download"),
    path("v1/schema", SpectacularAPIView.as_view(), name="schema"),
    path("v1/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_endpoint.metrics_view, name="metrics"),
    path("admin/dashboard/", admin.site.admin_view(reporting_views.dashboard), name="dashboard"),
    path("admin/", admin.site.urls),
]


def _wants_json(request: HttpRequest) -> bool:
    return not request.path.startswith("/admin/")


def handler404(request: HttpRequest, exception: Exception | None = None):
    if _wants_json(request):
        return error_response(404, "not_found", f"No endpoint at {request.path}.")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> JsonResponse:
    if _wants_json(request):
        return error_response(500, "internal_error", "Something went wrong on our side.")
    return defaults.server_error(request)
