"""Which destinations a submission goes to: the destination's filter, and the sender's own list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from typing import Protocol

FILTER_FIELDS = ("form_id", "source", "event_type")


class Routable(Protocol):
    name: str
    enabled: bool
    filter: dict


def filter_matches(rules: dict, *, form_id: str, source: str, event_type: str) -> bool:
    """Every field the filter names must match one of its patterns (shell-style: `invoice.*`)."""
    values = {"form_id": form_id, "source": source, "event_type": event_type}
    for field in FILTER_FIELDS:
        patterns = rules.get(field)
        if not patterns:
            continue
        if isinstance(patterns, str):
            patterns = [patterns]
        if not any(fnmatchcase(values[field], pattern) for pattern in patterns):
            return False
    return True


def route(
    destinations: Iterable[Routable],
    *,
    form_id: str,
    source: str,
    event_type: str,
    requested: Sequence[str] | None,
) -> list[Routable]:
    """Enabled destinations whose filter matches, narrowed to `requested` names when given."""
    wanted = set(requested) if requested is not None else None
    return [
        destination
        for destination in destinations
        if destination.enabled
        and (wanted is None or destination.name in wanted)
        and filter_matches(
            destination.filter, form_id=form_id, source=source, event_type=event_type
        )
    ]
