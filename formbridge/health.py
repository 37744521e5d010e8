"""Liveness and readiness probes."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

from .redis_client import get_redis


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _database_ready() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means not ready; say which
        return f"database: {type(exc).__name__}"
    return None


def _redis_ready() -> str | None:
    client = get_redis()
    if client is None:
        return None
    try:
        client.ping()
    except Exception as exc:
        return f"redis: {type(exc).__name__}"
    return None


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to take traffic: the database (and Redis, when configured) answer."""
    problems = [p for p in (_database_ready(), _redis_ready()) if p]
    if problems:
        return JsonResponse(
            {
                "status": "unavailable",
                "error": {"code": "not_ready", "message": "; ".join(problems)},
            },
            status=503,
        )
    return JsonResponse({"status": "ok"})
