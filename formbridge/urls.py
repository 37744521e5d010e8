from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path
from django.views import defaults

from ingest import views as ingest_views

from . import health
from .errors import error_response

urlpatterns = [
    re_path(r"^v1/ingest/?$", ingest_views.ingest, name="ingest"),
    re_path(r"^v1/events/?$", ingest_views.events, name="events"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
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
