"""Connectors by Destination.kind. Adding one touches no other: write a module, register it."""

from __future__ import annotations

from functools import cache

from .base import Connector

_REGISTRY: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    _REGISTRY[cls.kind] = cls
    return cls


def available_kinds() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


@cache
def connector_for(kind: str) -> Connector:
    """One instance per kind and process (it may hold a connection pool)."""
    try:
        return _REGISTRY[kind]()
    except KeyError:
        raise ValueError(
            f"no connector for kind {kind!r}; available: {', '.join(available_kinds())}"
        ) from None


from . import inbox, rest  # noqa: E402,F401  (register the built-in connectors)
