"""The shared development gold set through `ask`, offline: floors just under today's scores, so that a
regression fails CI (see ../shared/eval/FORMAT.md for the format). The learned engine is fitted on this set
among others, so these are in-sample figures: the held-out ones are gated by scripts/fit_scorer.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mali_qa import ask

pytestmark = pytest.mark.integration

GOLD = Path(__file__).resolve().parents[2] / "shared" / "eval" / "gold_dev.jsonl"
#: accuracy 0.84 -> 0.82 (issue 28): headings are no longer candidates, and dev-31 lost the pull quote that
#: had echoed its best sentence as a runner-up; it now shows its evidence among the closest passages (the
#: decision's probability 0.698 against a threshold of 0.70, which a refit of the scorer would recalibrate).
#: citation 0.88 -> 0.85: quotes are whole sentences, so dev-12's 64-word evidence sentence, which no longer
#: fits whole beside the best one within 100 words, is left out instead of cut.
FLOORS = {"accuracy": 0.82, "abstention": 0.95, "citation": 0.85}


def _norm(s: str) -> str:
    s = s.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", s).strip().lower()


@pytest.mark.skipif(not GOLD.exists(), reason="../shared/eval/gold_dev.jsonl is not beside the checkout")
def test_dev_gold_set_floors(built_settings: Any) -> None:
    items = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    correct = answerable = abstained = unanswerable = cited = 0
    for item in items:
        answer = ask(item["question"], history=item.get("history") or None, settings=built_settings)
        text = _norm(answer.text)
        if item["type"] == "unanswerable":
            unanswerable += 1
            abstained += not answer.answered
            continue
        answerable += 1
        n_words = len(re.sub(r"\[\d+\]", " ", answer.text).split())
        correct += (
            answer.answered
            and n_words <= 100
            and all(any(alt.lower() in text for alt in group) for group in item["must_include"])
        )
        cited += any(_norm(ev) in _norm(c.text) for c in answer.citations for ev in item["evidence"])
    scores = {
        "accuracy": correct / answerable,
        "abstention": abstained / unanswerable,
        "citation": cited / answerable,
    }
    assert all(scores[k] >= FLOORS[k] for k in FLOORS), scores
