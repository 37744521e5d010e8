from datetime import UTC, datetime


def isoformat_z(moment: datetime) -> str:
    """UTC, millisecond precision, `Z` suffix: 2025-08-25T18:00:00.123Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def parse_aware_datetime(value: str) -> datetime | None:
    """ISO 8601 with a zone, else None (a naive time is ambiguous)."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None
