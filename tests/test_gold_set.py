"""The gold sets are sound: lines parse, evidence occurs in its articles, answers pass their own checks."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
GOLD = ROOT / "eval" / "gold.jsonl"
DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "gold_dev.jsonl"
TYPES = {"factoid", "date", "numeric", "list", "multi-doc", "unanswerable", "follow-up"}
MAX_WORDS = 100

BANK = sorted((ROOT / "eval" / "bank").glob("*.jsonl"))
HELD_OUT = sorted((ROOT / "eval" / "heldout").glob("*.jsonl"))  # never fitted on: see eval/heldout/README.md
GOLD_FILES = [pytest.param(GOLD, id="gold"), *(pytest.param(p, id=p.stem) for p in BANK + HELD_OUT)]
if DEV.exists():
    GOLD_FILES.append(pytest.param(DEV, id="gold_dev"))


def norm(text: str) -> str:
    """The scorer's normalization: straight quotes, single spaces, lowercase."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


def load(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def articles() -> dict[str, str]:
    return {p.stem: norm(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))}


@pytest.mark.parametrize("path", GOLD_FILES)
def test_every_line_parses_and_ids_are_unique(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = []
    for n, line in enumerate(lines, 1):
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{path.name} line {n}: not JSON ({exc})")
        assert isinstance(item, dict), f"line {n} is not an object"
        ids.append(item.get("id"))
    duplicates = [i for i, count in Counter(ids).items() if count > 1]
    assert not duplicates, f"duplicate ids: {duplicates}"


@pytest.mark.parametrize("path", GOLD_FILES)
def test_fields_and_types(path: Path) -> None:
    for item in load(path):
        where = f"{path.name} {item.get('id')}"
        assert isinstance(item["id"], str) and item["id"], where
        assert isinstance(item["question"], str) and item["question"].strip(), where
        assert isinstance(item["answer"], str) and item["answer"].strip(), where
        assert item["type"] in TYPES, where
        assert isinstance(item["must_include"], list), where
        for group in item["must_include"]:
            assert isinstance(group, list) and group, where
            assert all(isinstance(alt, str) and alt and alt == alt.lower() for alt in group), where
        assert isinstance(item["sources"], list) and all(isinstance(s, str) for s in item["sources"]), where
        assert isinstance(item["evidence"], list) and all(isinstance(e, str) for e in item["evidence"]), where
        history = item.get("history", [])
        assert isinstance(history, list), where
        for turn in history:
            assert set(turn) == {"role", "content"}, where
            assert turn["role"] in ("user", "assistant") and isinstance(turn["content"], str), where
        assert not set(item) - {
            "id",
            "question",
            "answer",
            "must_include",
            "sources",
            "evidence",
            "type",
            "history",
        }


@pytest.mark.parametrize("path", GOLD_FILES)
def test_answerable_items_have_sources_evidence_and_checks(path: Path, articles: dict[str, str]) -> None:
    for item in load(path):
        if item["type"] == "unanswerable":
            continue
        where = f"{path.name} {item['id']}"
        assert item["must_include"] and item["sources"] and item["evidence"], where
        assert all(src in articles for src in item["sources"]), f"{where}: unknown source {item['sources']}"


@pytest.mark.parametrize("path", GOLD_FILES)
def test_every_evidence_string_occurs_in_a_source_article(path: Path, articles: dict[str, str]) -> None:
    for item in load(path):
        texts = [articles[src] for src in item["sources"] if src in articles]
        for evidence in item["evidence"]:
            assert any(norm(evidence) in text for text in texts), (
                f"{item['id']}: not in its sources: {evidence!r}"
            )


@pytest.mark.parametrize("path", GOLD_FILES)
def test_reference_answers_pass_their_own_checks(path: Path) -> None:
    for item in load(path):
        text = norm(item["answer"])
        for group in item["must_include"]:
            assert any(alt in text for alt in group), f"{item['id']}: reference answer misses {group}"
        assert len(re.sub(r"\[\d+\]", " ", item["answer"]).split()) <= MAX_WORDS, item["id"]


@pytest.mark.parametrize("path", GOLD_FILES)
def test_unanswerable_items_are_empty(path: Path) -> None:
    for item in load(path):
        if item["type"] == "unanswerable":
            assert item["must_include"] == [] and item["sources"] == [] and item["evidence"] == [], item["id"]


def test_project_gold_set_is_large_and_covers_every_type() -> None:
    items = load(GOLD)
    types = Counter(item["type"] for item in items)
    assert len(items) >= 50
    assert types["unanswerable"] >= 8
    assert sum(1 for item in items if item["type"] == "follow-up" and item.get("history")) >= 6
    assert set(types) == TYPES


def test_follow_ups_carry_history() -> None:
    for item in load(GOLD):
        if item["type"] == "follow-up":
            assert item.get("history"), item["id"]


def test_project_gold_does_not_copy_dev_questions() -> None:
    if not DEV.exists():
        pytest.skip("no shared dev set")
    dev = {norm(item["question"]) for item in load(DEV)}
    assert not [item["id"] for item in load(GOLD) if norm(item["question"]) in dev]


def test_the_question_bank_is_large_and_a_third_unanswerable() -> None:
    items = [item for path in BANK for item in load(path)]
    unanswerable = [item for item in items if item["type"] == "unanswerable"]
    assert len(items) >= 300
    assert len(unanswerable) >= len(items) / 3 - 1
    assert len({item["id"] for item in items}) == len(items)
