"""JSON text as the API writes it, for the views that answer without DRF's renderer."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse


def compact_json(value) -> str:
    """Compact, unicode as is, Django's types (times, UUIDs) as text: what DRF's JSONRenderer
    writes with this project's settings."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)


def json_text_response(text: str, status: int = 200) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="application/json")
