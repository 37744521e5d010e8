"""GET /v1/files/<token>: a stored file or payload, for whoever holds a destination's signed,
unexpired link to it (core.blobs). No key: the link is the authorisation, and it names one
object of one tenant. An erased or purged submission's objects are gone: 404."""

from __future__ import annotations

import mimetypes

from django.http import FileResponse, HttpRequest, HttpResponse

from core import blobs
from core.http_errors import error_response

_GONE = "No file at this link: it has expired, or the submission was erased or purged."


def file_download(request: HttpRequest, token: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed here; use GET.",
            {"Allow": "GET, HEAD"},
        )
    resolved = blobs.resolve_link(token)
    if resolved is None:
        return error_response(404, "not_found", _GONE)
    tenant_id, key = resolved
    storage = blobs.attachments_storage()
    if not isinstance(key, str) or not key.startswith(f"{tenant_id}/") or not storage.exists(key):
        return error_response(404, "not_found", _GONE)
    filename = key.rsplit("/", 1)[-1].split("-", 1)[-1]
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = FileResponse(
        storage.open(key), as_attachment=True, filename=filename, content_type=content_type
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
