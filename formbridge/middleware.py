"""Refuse, at the door, URLs that no store can hold: a NUL in a path or query parameter would
reach PostgreSQL (which refuses it) from whichever view, admin page or filter reads it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.http_errors import error_response


class RefuseUnstorableUrlMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path_info or "\x00" in query or "%00" in query:
            return error_response(
                400,
                "invalid_request",
                "The URL contains a NUL character (%00), which no parameter may hold.",
            )
        return self.get_response(request)
