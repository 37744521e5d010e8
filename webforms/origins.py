"""Origins: which pages may post to a form, and where a browser may be sent afterwards."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from core.errors import Invalid

MAX_ORIGINS = 50
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 2048
# What browsers read differently from urlsplit: a backslash is a slash to them, and control
# characters and spaces are stripped or cut (https://url.spec.whatwg.org/).
_AMBIGUOUS = re.compile(r"[\\\x00-\x20\x7f]")
# Kept as they are in a rebuilt path, query or fragment; anything else is percent-encoded.
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


def origin_of(url: str) -> str | None:
    """scheme://host[:port], lower-cased, the default port left out; None unless http(s)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")


def clean_origins(values: Any) -> list[str]:
    """Each an origin (https://www.example.com, no path); spelled canonically, deduplicated."""
    if not isinstance(values, list) or len(values) > MAX_ORIGINS:
        raise Invalid(f"must be a list of at most {MAX_ORIGINS} origins", field="allowed_origins")
    cleaned = []
    for value in values:
        origin = origin_of(value) if isinstance(value, str) else None
        path = urlsplit(value.strip()).path if origin else ""
        if origin is None or path not in ("", "/") or "?" in value or "#" in value:
            raise Invalid(
                f"{value!r} is not an origin: scheme and host only, like https://www.example.com",
                field="allowed_origins",
            )
        cleaned.append(origin)
    return list(dict.fromkeys(cleaned))


def browser_url(value: Any) -> str | None:
    """An absolute http(s) URL a browser will read as we do, rebuilt from its parsed parts (never
    echoed): None for backslashes, control characters, spaces or userinfo (`https://evil\\@good/`
    is evil to a browser), or anything not http(s) with a host."""
    if not isinstance(value, str) or len(value) > MAX_URL_LENGTH or _AMBIGUOUS.search(value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    origin = origin_of(value)
    if origin is None:
        return None
    netloc = origin.split("://", 1)[1]
    if port is None and parts.netloc.endswith(":"):
        return None  # an empty port: browsers and urlsplit disagree on what it means
    return urlunsplit((
        scheme,
        netloc,
        quote(parts.path, safe=_SAFE_PATH) or "/",
        quote(parts.query, safe=_SAFE_QUERY),
        quote(parts.fragment, safe=_SAFE_QUERY),
    ))  # fmt: skip


def clean_redirect_url(value: Any, field: str = "redirect_url") -> str:
    if value in (None, ""):
        return ""
    url = browser_url(value.strip()) if isinstance(value, str) else None
    if url is None:
        raise Invalid(
            "must be an absolute http(s) URL, without user info, backslashes or spaces",
            field=field,
        )
    return url


def request_origin(headers: dict[str, str]) -> str | None:
    """The posting page's origin: Origin, else the Referer's (None when neither says)."""
    origin = headers.get("origin", "").strip()
    if origin and origin != "null":
        return origin_of(origin)
    referer = headers.get("referer", "").strip()
    return origin_of(referer) if referer else None


def is_allowed(allowed_origins: list[str], origin: str | None) -> bool:
    """An empty list lets any page post; otherwise the page's origin must be listed."""
    if not allowed_origins:
        return True
    return origin is not None and origin in allowed_origins


def safe_next(next_url: str, *, allowed_origins: list[str], redirect_url: str) -> str | None:
    """A `_next` the browser may be sent to: an http(s) URL on an allowed origin or on the
    redirect URL's origin, rebuilt from its parts. Anything else is ignored, so the form is no
    open redirect."""
    url = browser_url(next_url) if next_url else None
    if url is None:
        return None
    trusted = set(allowed_origins)
    if redirect_url:
        trusted.add(origin_of(redirect_url))
    return url if origin_of(url) in trusted else None
