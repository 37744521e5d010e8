"""DRF's request parser for the key-authenticated API: the same bounded decoder as the ingest
views (core.json_input), so a body too deep, too large or not JSON is a 400 invalid_json (a
RecursionError inside DRF's own JSONParser was a 500)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from .errors import TooLarge
from .json_input import decode_json


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise TooLarge(f"The body is over {limit} bytes.", code="payload_too_large")
        return decode_json(body)
