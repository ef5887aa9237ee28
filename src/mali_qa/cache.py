"""The process's caches (loaded indexes, embedding models, model clients, pipelines) in one registry, so
that one call forgets them all: after a re-ingest in another process, a rebuild, or between tests."""

from __future__ import annotations

from typing import Any

_registry: dict[str, dict[Any, Any]] = {}


def register(name: str) -> dict[Any, Any]:
    """A new cache (a plain dict, guarded by its owner's lock), emptied by `clear_all`."""
    return _registry.setdefault(name, {})


def clear_all() -> None:
    """Empty every registered cache."""
    for entries in _registry.values():
        entries.clear()


def names() -> list[str]:
    return sorted(_registry)
