"""What every store and every response can hold: one check for times, text and ids.

PostgreSQL, SQLite and Python's datetime agree only on years 1-9999 in UTC, and PostgreSQL text
cannot hold NUL. A value outside that accepted at one edge becomes a 500 (or a stalled worker)
wherever it is read back, so each edge (ingest, the API's path parameters, the admin) asks here.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

# A public id: a submission_id, an Idempotency-Key, an event id.
PUBLIC_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
PUBLIC_ID_REGEX = PUBLIC_ID_PATTERN.pattern
# Refuse a whole day short of each end: a value rendered in any zone, or moved by a timedelta,
# must not leave the range either.
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def utc_datetime(value: datetime) -> datetime | None:
    """The aware `value` in UTC, or None if it cannot be stored and read back everywhere."""
    if value.tzinfo is None:
        return None
    try:
        moment = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment if _EARLIEST <= moment <= _LATEST else None


def utc_from_timestamp(seconds: float) -> datetime | None:
    """Unix seconds as an aware UTC datetime, or None outside the storable range."""
    if not math.isfinite(seconds):
        return None
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None
    return utc_datetime(moment)


def is_storable_text(text: str) -> bool:
    """No NUL, and encodable as UTF-8 (no lone surrogates)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_public_id(value: object) -> bool:
    return isinstance(value, str) and PUBLIC_ID_PATTERN.fullmatch(value) is not None


def safe_text(raw: bytes | str, *, limit: int) -> str:
    """What a remote party sent, as text every store can hold: invalid UTF-8 and NULs escaped
    (\\x..), then cut to `limit` characters."""
    text = raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else raw
    if not is_storable_text(text):
        text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text[:limit]
