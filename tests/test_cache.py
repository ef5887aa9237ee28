"""The one cache registry: every remembered result of the package is registered (no bare `lru_cache` in the
modules that use the registry), and `service.reset()` forgets them all."""

from __future__ import annotations

import ast
from pathlib import Path

from mali_qa import cache, service, text

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mali_qa"
ROOT = PACKAGE.parents[1]


def _bare_caches(path: Path) -> list[str]:
    """The `functools.lru_cache` / `functools.cache` uses of a file, as `line: text`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "functools":
            found += [
                f"{node.lineno}: from functools import {a.name}" for a in node.names if "cache" in a.name
            ]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ("lru_cache", "cache")
            and isinstance(node.value, ast.Name)
            and node.value.id == "functools"
        ):
            found.append(f"{node.lineno}: functools.{node.attr}")
    return found


def test_no_bare_lru_cache_outside_the_registry() -> None:
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "page").glob("*.py"), ROOT / "app.py"]
    offenders = {
        str(path.relative_to(ROOT)): bare
        for path in sorted(files)
        if path != PACKAGE / "cache.py" and (bare := _bare_caches(path))
    }
    assert not offenders, f"use mali_qa.cache.memo (reset() clears it) instead of: {offenders}"


def test_the_check_sees_a_bare_cache(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import functools\n\n@functools.lru_cache(maxsize=8)\ndef f(x):\n    return x\n")
    assert _bare_caches(probe) == ["3: functools.lru_cache"]


def test_reset_clears_every_registered_cache() -> None:
    calls: list[int] = []

    @cache.memo(maxsize=8)
    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    store = cache.register("a test's store")
    store["key"] = "value"
    assert double(2) == double(2) == 4 and calls == [2]  # remembered
    text.stem("soldiers")
    assert text.stem.cache_info().currsize >= 1  # type: ignore[attr-defined]
    service.reset()
    assert store == {} and text.stem.cache_info().currsize == 0  # type: ignore[attr-defined]
    assert double(2) == 4 and calls == [2, 2]  # forgotten, so computed again
    assert any(name.endswith("double") for name in cache.names())
