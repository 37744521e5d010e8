"""Shared admin page helpers: the "shown once" secret page and small HTML renderers."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html


def secret_once(
    request: HttpRequest,
    *,
    title: str,
    secrets: list[tuple[str, str]],
    back_url: str,
    note: str = "",
    admin_site: Any = None,
) -> TemplateResponse:
    """A page that shows plaintext secrets once; nothing stores them, and nothing caches it."""
    context = {
        **(admin_site.each_context(request) if admin_site else {}),
        "title": title,
        "secrets": secrets,
        "back_url": back_url,
        "note": note,
    }
    response = TemplateResponse(request, "admin/formbridge/secret_once.html", context)
    response["Cache-Control"] = "no-store"
    return response


def pretty_json(value: Any) -> str:
    return format_html(
        '<pre class="fb-json">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False)
    )
