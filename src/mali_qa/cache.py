"""The process's caches (loaded indexes, embedding models, model clients, pipelines, remembered function
results) in one registry, so that one call forgets them all: after a re-ingest in another process, a
rebuild, or between tests. Every cache of the package is registered here, by `register` (a dict its owner
fills) or `memo` (a function's remembered results); none is a bare `functools.lru_cache`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


class _Clearable(Protocol):
    def clear(self) -> None: ...


_registry: dict[str, _Clearable] = {}


def register(name: str) -> dict[Any, Any]:
    """A new cache (a plain dict, guarded by its owner's lock), emptied by `clear_all`."""
    entries: dict[Any, Any] = {}
    return _registry.setdefault(name, entries)  # type: ignore[return-value]


class _Memo:
    """`functools.lru_cache` of one function, seen by the registry as something to clear."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def clear(self) -> None:
        self.wrapped.cache_clear()


def memo(maxsize: int | None = None) -> Callable[[_F], _F]:
    """Remember a function's results (`functools.lru_cache(maxsize)`; None: no bound), registered under the
    function's qualified name so that `clear_all` forgets them."""

    def decorate(func: _F) -> _F:
        wrapped = functools.lru_cache(maxsize=maxsize)(func)
        _registry[f"{func.__module__}.{func.__qualname__}"] = _Memo(wrapped)
        return wrapped  # type: ignore[return-value]

    return decorate


def clear_all() -> None:
    """Empty every registered cache."""
    for entries in _registry.values():
        entries.clear()


def names() -> list[str]:
    return sorted(_registry)
