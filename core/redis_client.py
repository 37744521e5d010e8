"""One shared Redis connection pool per process, or None on the embedded (no Redis) default."""

from __future__ import annotations

import functools
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import redis
from django.conf import settings


@functools.cache
def get_redis() -> redis.Redis | None:
    if not settings.REDIS_URL:
        return None
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30
    )


def url_with_password(url: str, password: str) -> str:
    """A redis:// or rediss:// URL with this password (ElastiCache's AUTH token) in it; any other
    URL (the file broker) as it was."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not password:
        return url
    user = unquote(parts.username or "")
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}{port}"
    return urlunsplit(parts._replace(netloc=netloc))
