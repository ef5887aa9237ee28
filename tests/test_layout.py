"""The package's shape: imports flow one way (core <- store <- ingest | search <- answer <- service <- faces),
the writer (ingest) and the reader (search) never import each other, no cycle, small modules, light modules
import light, and llama-index is used through its public API only: no module reads its persisted files."""

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
    "mali_qa.planted": 0,
    "mali_qa.sanitize": 0,
    "mali_qa.names": 0,
    "mali_qa.sources": 0,
    "mali_qa.store": 1,
    "mali_qa.ingest": 2,
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
    "mali_qa.planted",
    "mali_qa.sanitize",
    "mali_qa.names",
    "mali_qa.sources",
)
#: Stages of one rank that must not import each other: the writer and the reader of the index share only
#: `store/`.
SIBLINGS = (("mali_qa.ingest", "mali_qa.search"),)
#: Names of llama-index's persisted files and of the keys inside them: reading them would tie answering to
#: its internals. Only the writer's docstore module names its file, to persist and load it through
#: llama-index's own API.
LLAMA_FILES = (
    "docstore/data",
    "docstore/ref_doc_info",
    "docstore/metadata",
    "__data__",
    "__type__",
    "text_resource",
    "retriever.json",
    "corpus.jsonl",
    "node_id",
    "docstore.json",
    "index_store.json",
    "default__vector_store.json",
)
LLAMA_FILE_OWNERS = {"docstore.json": {"mali_qa.ingest.docstore"}}
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


def _stage(name: str) -> str:
    return ".".join(name.split(".")[:2])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_the_writer_and_the_reader_share_only_the_store(name: str) -> None:
    """`ingest/` and `search/` never import each other; `store/`, under both, imports neither."""
    forbidden = {b for a, b in SIBLINGS if _stage(name) == a} | {a for a, b in SIBLINGS if _stage(name) == b}
    if _stage(name) == "mali_qa.store":
        forbidden = {stage for pair in SIBLINGS for stage in pair}
    for target in imports(MODULES[name]):
        assert _stage(target) not in forbidden, f"{name} imports {target}: share it through mali_qa.store"


def _strings(tree: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_reads_a_llama_index_file(name: str) -> None:
    """The read path reads only files of ours (`store.formats`) or llama-index's public API: no module names
    a file llama-index persists, or a key inside one (an upgrade of llama-index could change them with no
    test failing first), except the writer's docstore module, which persists its own file through the API."""
    text = "\n".join(_strings(ast.parse(MODULES[name].read_text(encoding="utf-8"))))
    for needle in LLAMA_FILES:
        if name in LLAMA_FILE_OWNERS.get(needle, set()):
            continue
        assert needle not in text, f"{name} names llama-index's {needle!r}: write and read a file of ours"


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


#: What the page (app.py, page/) may import of the package: the public names of `mali_qa` and the modules
#: that define them, and the article library it shares with the CLI. Anything deeper goes through these.
PAGE_SURFACE = {
    "mali_qa",
    "mali_qa.config",
    "mali_qa.errors",
    "mali_qa.types",
    "mali_qa.service",
    "mali_qa.library",
    "mali_qa.cache",  # the one cache registry, which reset() clears
    "mali_qa.names",  # the one name detector, which the page's suggestions use too
    "mali_qa.sources",  # the one naming of a source, which every front end uses
    "mali_qa.text",  # the one sentence splitter: a source card's context cuts where quotes and passages cut
}


def test_nothing_outside_page_is_on_the_pages_path() -> None:
    """app.py and page/*.py edit no `sys.path` and import only `page.*`, the package's public surface, the
    standard library and installed packages: never a file at the top of the checkout (`page_helpers`)."""
    from importlib.metadata import packages_distributions

    root = PACKAGE.parents[1]
    installed = set(packages_distributions())
    files = [root / "app.py", *sorted((root / "page").glob("*.py"))]
    problems = []
    for path in files:
        where = path.relative_to(root)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names: list[str] = []
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "path"
                and getattr(node.value, "id", "") == "sys"
            ):
                problems.append(f"{where}:{node.lineno} touches sys.path")
            elif isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: inside page/ only
                    if path.parent.name != "page":
                        problems.append(f"{where}:{node.lineno} imports relatively from outside page/")
                    continue
                names.append(node.module or "")
                if node.module == "sys" and any(alias.name == "path" for alias in node.names):
                    problems.append(f"{where}:{node.lineno} imports sys.path")
        for name in names:
            top = name.split(".")[0]
            if top in {"page", "mali_qa", "__future__"} or top in sys.stdlib_module_names:
                continue
            if (root / top).exists() or (root / f"{top}.py").exists():
                problems.append(
                    f"{where} imports {name}, a file at the top of the checkout: move it into page/"
                )
            elif top not in installed:
                problems.append(f"{where} imports {name}, which no installed distribution provides")
        deeper = imports(path) - PAGE_SURFACE
        if deeper:
            problems.append(
                f"{where} imports {sorted(deeper)} beyond the package's public surface {PAGE_SURFACE}"
            )
    assert not problems, "\n".join(problems)
