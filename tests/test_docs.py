"""The documents: every relative link between them resolves (files and #anchors), and the README stays short."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_BYTES = 12_288

FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`+[^`\n]*`+")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def documents() -> list[Path]:
    """The repository's markdown documents that link to each other."""
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]
    for folder in ("eval", "scripts"):
        found += sorted((ROOT / folder).rglob("README.md"))
    return found


def prose(text: str) -> str:
    """The text without code blocks and inline code, where a bracket is not a link."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    return LINK.findall(prose(text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link or image shows its text
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a document, numbered as GitHub numbers repeated headings (x, x-1, x-2)."""
    seen: Counter[str] = Counter()
    found = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        found.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """The relative links of one document whose file or #anchor does not exist (or lies outside `root`)."""
    broken = []
    for target in links(path.read_text(encoding="utf-8")):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists() or not resolved.is_relative_to(root):
            broken.append(f"{target}: no such file in the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with that anchor in {resolved.relative_to(root)}")
    return broken


def test_the_documents_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in documents()}
    assert {"README.md", "docs/architecture.md", "docs/evaluation.md", "benchmarks/README.md"} <= names
    assert {"eval/bank/README.md", "eval/heldout/README.md", "scripts/experiments/README.md"} <= names


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken_links(path) == [], f"{path.relative_to(ROOT)} has broken links"


def test_readme_is_at_most_12_kb() -> None:
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_MAX_BYTES, (
        f"README.md is {size} bytes: move detail into docs/ (limit {README_MAX_BYTES})"
    )


def test_readme_links_every_document_of_docs() -> None:
    readme = set(links((ROOT / "README.md").read_text(encoding="utf-8")))
    missing = [p.name for p in (ROOT / "docs").glob("*.md") if f"docs/{p.name}" not in readme]
    assert missing == [], f"README.md does not link {missing}"


def test_slug_follows_github() -> None:
    assert slug("Targets: what is met and what is not") == "targets-what-is-met-and-what-is-not"
    assert (
        slug("Batch 11 and the typed name (2026-11-22, later)")
        == "batch-11-and-the-typed-name-2026-11-22-later"
    )
    assert slug("The `store/` stage") == "the-store-stage"
    assert (
        slug("mali-qa beside a plain [LlamaIndex](https://x) pipeline")
        == "mali-qa-beside-a-plain-llamaindex-pipeline"
    )


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    """The check itself fails on what it must catch, and ignores brackets in code."""
    (tmp_path / "README.md").write_text("# mali-qa\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "outside.md").write_text("# Outside\n", encoding="utf-8")
    probe = tmp_path / "docs" / "probe.md"
    probe.write_text(
        "# Probe\n\n## A heading\n\n[ok](#a-heading) [ok](../README.md#mali-qa) [gone](missing.md)\n"
        "[bad anchor](../README.md#no-such-heading) [self](#nothing) `[in code](missing2.md)`\n"
        "```\n[in a block](missing3.md)\n```\n![image](../outside.md)\n",
        encoding="utf-8",
    )
    assert broken_links(probe, root=tmp_path) == [
        "missing.md: no such file in the repository",
        "../README.md#no-such-heading: no heading with that anchor in README.md",
        "#nothing: no heading with that anchor in docs/probe.md",
    ]
    assert (
        broken_links(probe, root=tmp_path / "docs")[0]
        == "../README.md#mali-qa: no such file in the repository"
    )
