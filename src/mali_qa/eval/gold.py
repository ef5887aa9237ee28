"""The gold question file: one JSON object per line (format: shared eval/FORMAT.md), checked and loaded."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mali_qa.errors import MaliQAError

TYPES = ("factoid", "date", "numeric", "list", "multi-doc", "unanswerable", "follow-up")
REQUIRED = {
    "id": str,
    "question": str,
    "answer": str,
    "must_include": list,
    "sources": list,
    "evidence": list,
    "type": str,
}


@dataclass(frozen=True)
class GoldItem:
    """One question of a gold file (format: shared eval/FORMAT.md)."""

    id: str
    question: str
    answer: str
    must_include: list[list[str]]
    sources: list[str]
    evidence: list[str]
    type: str
    history: list[dict[str, str]] = field(default_factory=list)
    line: int = 0

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


def parse_item(data: Any, line: int) -> GoldItem:
    """One gold line's object as a GoldItem; ValueError says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    for name, kind in REQUIRED.items():
        if name not in data:
            raise ValueError(f"missing field {name!r}")
        if not isinstance(data[name], kind):
            raise ValueError(f"field {name!r} must be a {kind.__name__}")
    if not data["question"].strip():
        raise ValueError("empty question")
    if data["type"] not in TYPES:
        raise ValueError(f"unknown type {data['type']!r} (one of {', '.join(TYPES)})")
    groups = data["must_include"]
    if not all(isinstance(g, list) and g and all(isinstance(a, str) and a for a in g) for g in groups):
        raise ValueError("must_include must be a list of non-empty lists of strings")
    for name in ("sources", "evidence"):
        if not all(isinstance(s, str) for s in data[name]):
            raise ValueError(f"{name} must be a list of strings")
    history = data.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(t, dict) and t.get("role") in ("user", "assistant") and isinstance(t.get("content"), str)
        for t in history
    ):
        raise ValueError("history must be a list of {'role': 'user'|'assistant', 'content': str}")
    if data["type"] != "unanswerable" and not groups:
        raise ValueError("an answerable item needs must_include")
    return GoldItem(
        id=data["id"],
        question=data["question"],
        answer=data["answer"],
        must_include=[[a.lower() for a in g] for g in groups],
        sources=list(data["sources"]),
        evidence=list(data["evidence"]),
        type=data["type"],
        history=[{"role": t["role"], "content": t["content"]} for t in history],
        line=line,
    )


def load_gold(path: Path) -> tuple[list[GoldItem], list[str]]:
    """The valid items of a gold file and one warning (with its line number) per line skipped."""
    if not path.is_file():
        raise MaliQAError(
            f"gold file {path} not found: pass --gold FILE (JSONL, one question per line) "
            "or write eval/gold.jsonl"
        )
    items: list[GoldItem] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = parse_item(json.loads(raw), n)
        except json.JSONDecodeError as exc:
            warnings.append(f"{path.name} line {n}: not valid JSON ({exc.msg}); skipped")
            continue
        except ValueError as exc:
            warnings.append(f"{path.name} line {n}: {exc}; skipped")
            continue
        if item.id in seen:
            warnings.append(f"{path.name} line {n}: duplicate id {item.id!r}; skipped")
            continue
        seen.add(item.id)
        items.append(item)
    return items, warnings
