"""Opaque keyset cursors: the sort key of the last row a page returned, base64url-encoded.

A cursor names a position, not an offset, so rows inserted meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from uuid import UUID

from .errors import Invalid
from .timeutil import parse_aware_datetime


def encode_cursor(moment: datetime, row_id: UUID) -> str:
    raw = json.dumps([moment.isoformat(), str(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment_text, id_text = json.loads(raw)
        moment = parse_aware_datetime(moment_text)
        if moment is None:
            raise ValueError
        return moment, UUID(id_text)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise Invalid(
            "The cursor is not one this API returned; start over without it.",
            code="invalid_cursor",
        ) from None
