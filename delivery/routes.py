"""The tenant's destinations as routing sees them, cached per process like its credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.ttl_cache import TTLCache

from . import routing
from .connectors.registry import is_pull
from .models import Destination


@dataclass(frozen=True)
class Route:
    id: Any
    name: str
    enabled: bool
    filter: dict
    waits_for_pull: bool
    ordering_key: str = ""  # a FIFO destination's key expression

    @classmethod
    def of(cls, destination: Destination) -> Route:
        return cls(
            id=destination.id,
            name=destination.name,
            enabled=destination.enabled,
            filter=destination.filter,
            waits_for_pull=is_pull(destination.kind),
            ordering_key=destination.ordering_key,
        )


_routes: TTLCache[str, tuple[Route, ...]] = TTLCache(ttl=lambda: settings.TENANT_CACHE_SECONDS)


def tenant_routes(tenant_id: str) -> tuple[Route, ...]:
    """The tenant's enabled destinations, re-read at most every TENANT_CACHE_SECONDS."""

    def fetch() -> tuple[Route, ...]:
        enabled = Destination.objects.live().filter(tenant_id=tenant_id, enabled=True)
        return tuple(Route.of(destination) for destination in enabled)

    return _routes.get(tenant_id, fetch)[0]


def forget_routes(tenant_id: str | None = None) -> None:
    _routes.forget(tenant_id)


def routes_for(submission: Any) -> list[Route]:
    """The routes of a submission (an ingest.Submission, or any object with its fields)."""
    return routing.route(
        tenant_routes(submission.tenant_id),
        form_id=submission.form_id,
        source=submission.source,
        event_type=submission.event_type,
        requested=submission.requested_destinations,
    )
