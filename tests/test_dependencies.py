"""Every package the shipped code imports (src/, page/, app.py) is declared, pinned, in pyproject.toml: a module
that arrives only as another package's dependency can change or vanish with that package's next release."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Our own top-level names: the package and the page's modules.
OWN = {"mali_qa", "page", "__future__"}


def shipped_files() -> list[Path]:
    return [*sorted((ROOT / "src").rglob("*.py")), *sorted((ROOT / "page").glob("*.py")), ROOT / "app.py"]


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503): "PyStemmer==2.2.0.3" -> "pystemmer"."""
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~;\[\s]", requirement, maxsplit=1)[0]).lower()


def declared() -> dict[str, str]:
    """The runtime requirements of pyproject.toml: normalised name -> the requirement as written."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_name(r): r for r in project["dependencies"]}


def top_level_imports(path: Path) -> set[str]:
    """The top-level names a file imports, at any depth (lazy imports inside functions too); not relative ones."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def undeclared(files: Iterable[Path], requirements: Iterable[str]) -> list[str]:
    """One sentence for each imported name that is neither the standard library, ours, nor provided by a
    declared distribution."""
    distributions = packages_distributions()
    allowed = set(requirements)
    problems = []
    for path in files:
        for top in sorted(top_level_imports(path) - OWN):
            if top in sys.stdlib_module_names:
                continue
            providers = sorted({_name(d) for d in distributions.get(top, [])})
            if not providers:
                problems.append(f"{path.name} imports {top}, which no installed distribution provides")
            elif not allowed & set(providers):
                problems.append(
                    f"{path.name} imports {top} but pyproject.toml does not declare {' or '.join(providers)}: "
                    f"add it to [project] dependencies, pinned to `pip show {providers[0]}`'s version"
                )
    return problems


def test_every_package_the_shipped_code_imports_is_declared() -> None:
    problems = undeclared(shipped_files(), declared())
    assert not problems, "\n".join(problems)


def test_every_runtime_requirement_is_pinned() -> None:
    loose = [r for r in declared().values() if "==" not in r]
    assert not loose, f"pin these to the version installed: {loose}"


def test_the_check_names_an_undeclared_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import json\nfrom page.markup import escape_markdown\nfrom . import sibling\n"
        "def f():\n    import bm25s\n    from pydantic_core import ErrorDetails\n    import no_such_module_anywhere\n"
    )
    problems = undeclared([module], {"pydantic-core"})
    assert len(problems) == 2, problems
    assert "imports bm25s but pyproject.toml does not declare bm25s" in problems[0]
    assert "no_such_module_anywhere, which no installed distribution provides" in problems[1]
    assert undeclared([module], {"pydantic-core", "bm25s"}) == [problems[1]]
