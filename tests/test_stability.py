"""Stability: one unrelated article added to the seeds moves the project gold figures by at most one item."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mali_qa import service
from mali_qa.config import Settings
from mali_qa.eval.gold import load_gold
from mali_qa.eval.scoring import score_item
from mali_qa.ingest.write import ingest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
UNRELATED = """Local club wins the regional football cup after extra time

The home side won the regional football cup on Sunday after a tense final that went to extra time.

The captain scored twice in the second half, and the goalkeeper saved a penalty in the last minute.

More than 12,000 supporters filled the stadium, the organisers said, the largest crowd in a decade.

The club's coach said the team would celebrate with a parade through the old town next weekend.
"""


def _figures(seeds: Path, store: Path) -> tuple[int, int]:
    settings = Settings.from_env(
        env_file=os.devnull, seeds_dir=seeds, vectorstore_dir=store, engine="offline"
    )
    ingest(settings)
    service.reset()
    items, _ = load_gold(ROOT / "eval" / "gold.jsonl")
    results = [score_item(item, service.ask(item.question, history=item.history or None, settings=settings), 0)
               for item in items]  # fmt: skip
    answers = sum(r["correct"] for r in results if r["type"] != "unanswerable")
    abstentions = sum(r["correct"] for r in results if r["type"] == "unanswerable")
    return answers, abstentions


def test_an_unrelated_article_moves_the_gold_figures_by_at_most_one_item(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(ROOT / "seeds", seeds)
    before = _figures(seeds, tmp_path / "before")
    (seeds / "900_football_cup.txt").write_text(UNRELATED, encoding="utf-8")
    after = _figures(seeds, tmp_path / "after")
    assert abs(after[0] - before[0]) <= 1 and abs(after[1] - before[1]) <= 1, (before, after)
