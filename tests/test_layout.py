"""The package's shape: imports flow one way (core <- ingest <- search <- answer <- service <- faces), no
cycle, small modules, light modules import light, and llama-index is used through its public API only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mali_qa"

#: The stages of the data's path; a module may import its own stage and those before it, never after.
LAYERS = {
    "mali_qa.types": 0,
    "mali_qa.errors": 0,
    "mali_qa.config": 0,
    "mali_qa.text": 0,
    "mali_qa.lexicon": 0,
    "mali_qa.cache": 0,
    "mali_qa.names": 0,
    "mali_qa.ingest": 1,
    "mali_qa.search": 2,
    "mali_qa.answer": 3,
    "mali_qa.service": 4,
    "mali_qa.library": 5,
    "mali_qa.cli": 6,
    "mali_qa.eval": 6,
    "mali_qa.server": 6,
}
LIGHT = (
    "mali_qa",
    "mali_qa.types",
    "mali_qa.errors",
    "mali_qa.config",
    "mali_qa.text",
    "mali_qa.cache",
    "mali_qa.names",
)
#: The documented extension points of the llama-index base classes we subclass.
LLAMA_HOOKS = {
    "_parse_nodes",
    "_get_query_embedding",
    "_aget_query_embedding",
    "_get_text_embedding",
    "_get_text_embeddings",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(name: str) -> int:
    for prefix, rank in sorted(LAYERS.items(), key=lambda kv: -len(kv[0])):
        if name == prefix or name.startswith(prefix + "."):
            return rank
    raise AssertionError(f"{name} belongs to no layer: add it to LAYERS")


def imports(path: Path) -> set[str]:
    """The mali_qa modules a file imports (at any depth of the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mali_qa"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(
                    candidate
                    if (PACKAGE.parent / candidate.replace(".", "/")).exists()
                    or (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists()
                    else node.module
                )
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mali_qa"))
    return found - {"mali_qa"}


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != "mali_qa"))
def test_imports_flow_one_way(name: str) -> None:
    for target in imports(MODULES[name]):
        assert layer(target) <= layer(name), (
            f"{name} (stage {layer(name)}) imports {target} (stage {layer(target)})"
        )


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_another_modules_private_names(name: str) -> None:
    """A name that starts with "_" is its module's own: another module that needs it needs a public one."""
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mali_qa"):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{name} imports {private} from {node.module}: make them public there"


def test_no_import_cycle() -> None:
    graph = {name: {t for t in imports(path) if t in MODULES} for name, path in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [])


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_modules_stay_small_and_say_their_job(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 450, f"{path.name} has {len(text.splitlines())} lines: split it"
    assert ast.get_docstring(ast.parse(text)), f"{path.name} has no docstring saying its job"


def test_llama_index_only_through_its_public_api() -> None:
    """A subclass of a llama-index class overrides only its documented hooks, never another private method
    of the base (a minor llama-index release may change those)."""
    import importlib

    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        llama = {
            alias.asname or alias.name: (node.module or "", alias.name)
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("llama_index")
            for alias in node.names
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for base in node.bases:
                if not (isinstance(base, ast.Name) and base.id in llama):
                    continue
                module, name = llama[base.id]
                base_class = getattr(importlib.import_module(module), name)
                overridden = {
                    f.name
                    for f in node.body
                    if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                    and f.name.startswith("_")
                    and not f.name.startswith("__")
                    and hasattr(base_class, f.name)
                } - LLAMA_HOOKS
                assert not overridden, f"{path.name}: {node.name} overrides private methods {overridden}"


TOP_LEVEL = sorted({".".join(name.split(".")[:2]) for name in MODULES})


@pytest.mark.parametrize("top", TOP_LEVEL)
def test_every_top_level_module_imports_on_its_own(top: str) -> None:
    """Each top-level module (with its submodules) imports in a fresh interpreter; a light one without
    chromadb or llama-index."""
    names = sorted(n for n in MODULES if n == top or n.startswith(top + ".")) if top != "mali_qa" else [top]
    probe = (
        f"import importlib, sys; [importlib.import_module(n) for n in {names!r}]; "
        "print('chromadb' in sys.modules, 'llama_index.core' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    if top in LIGHT:
        assert done.stdout.split() == ["False", "False"], f"{top} pulls in chromadb or llama-index"
