"""Liveness and readiness probes."""

from __future__ import annotations

import functools
import os

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from kombu import Connection

from core.redis_client import get_redis


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


@functools.cache
def _broker_redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def _broker_ready() -> str | None:
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith(("redis://", "rediss://")):
            _broker_redis(url).ping()
        elif url.startswith("filesystem://"):
            folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
            if not os.access(folder, os.W_OK):
                return f"broker: {folder} is not writable"
        else:
            with Connection(url, connect_timeout=2) as broker:
                broker.ensure_connection(max_retries=1)
    except Exception as exc:
        return f"broker: {type(exc).__name__}"
    return None


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to take traffic: the database, the broker (and Redis, when configured) answer."""
    problems = [p for p in (_database_ready(), _broker_ready(), _redis_ready()) if p]
    if problems:
        return JsonResponse(
            {
                "status": "unavailable",
                "error": {"code": "not_ready", "message": "; ".join(problems)},
            },
            status=503,
        )
    return JsonResponse({"status": "ok"})
