"""Fit the offline engine's sentence scorer and answer decision on the team's gold files, print in-sample and
grouped k-fold cross-validated figures, and write the weights the package ships (src/mali_qa/data/scorer.json).

    .venv/bin/python scripts/fit_scorer.py              # report, then write the weights
    .venv/bin/python scripts/fit_scorer.py --no-write   # report only
    .venv/bin/python scripts/fit_scorer.py --json FILE  # also write the figures as JSON

Sentence labels come from the gold files: a candidate sentence is positive when it holds (most of) one of
the item's evidence strings. Folds are grouped so that questions on the same evidence sentence, and
near-duplicate questions (half their content words shared), never sit on both sides of a split."""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLD_FILES = sorted((ROOT / "eval" / "bank").glob("*.jsonl")) + [ROOT / "eval" / "gold.jsonl"]
DEV = ROOT.parent / "shared" / "eval" / "gold_dev.jsonl"
WEIGHTS = ROOT / "src" / "mali_qa" / "data" / "scorer.json"
SHARES = (0.6, 0.7, 0.8, 0.9, 1.01)
#: The runner-up share is chosen among those whose median answer stays within this many words.
MEDIAN_WORDS = 40


@dataclass
class Case:
    """One gold item with what the engine saw for it: the analysis and the sentence labels."""

    item: Any
    analysis: Any
    labels: np.ndarray  # one per candidate
    passages: list[Any]
    condensed: Any


def norm_words(text: str) -> list[str]:
    text = text.replace("’", "'").replace("“", '"').replace("”", '"').lower()
    return re.findall(r"[\w']+", text)


def holds_evidence(sentence: str, evidence: list[str]) -> bool:
    """Whether the sentence holds most of one evidence string (word trigrams), or lies inside one."""
    words = norm_words(sentence)
    grams = {tuple(words[i : i + 3]) for i in range(len(words) - 2)}
    joined = " ".join(words)
    for ev in evidence:
        ev_words = norm_words(ev)
        if len(words) >= 4 and joined in " ".join(ev_words):
            return True
        ev_grams = [tuple(ev_words[i : i + 3]) for i in range(len(ev_words) - 2)]
        if ev_grams and sum(g in grams for g in ev_grams) / len(ev_grams) >= 0.5:
            return True
    return False


def is_answer(cand: Any, item: Any) -> bool:
    """A sentence that holds an evidence string, or, in a source article, every must_include group."""
    if holds_evidence(cand.text, item.evidence):
        return True
    if not item.must_include or cand.passage.article_id not in item.sources:
        return False
    text = " ".join(norm_words(cand.text))
    return all(any(" ".join(norm_words(alt)) in text for alt in group) for group in item.must_include)


def build_cases(files: list[Path]) -> list[Case]:
    from mali_qa.answer.condense import condense
    from mali_qa.config import Settings
    from mali_qa.eval.gold import load_gold
    from mali_qa.ingest.write import ingest
    from mali_qa.service import pipeline_for

    store = Path(tempfile.mkdtemp(prefix="mali-qa-fit-"))
    settings = Settings.from_env(
        env_file=os.devnull, seeds_dir=ROOT / "seeds", vectorstore_dir=store, engine="offline"
    )
    ingest(settings)
    pipe = pipeline_for(settings.with_(offline_engine="learned"))
    cases = []
    for path in files:
        items, warnings = load_gold(path)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for item in items:
            condensed = condense(item.question, item.history)
            passages = pipe.retrieve(condensed.search_text, settings.top_k)
            analysis = pipe.offline.analyse(condensed, passages)
            labels = np.array([is_answer(c, item) for c in analysis.candidates], dtype=bool)
            cases.append(Case(item, analysis, labels, passages, condensed))
    return cases


def groups(cases: list[Case]) -> list[int]:
    """A group id per case: same evidence sentence, or half the content stems shared, means same group."""
    from mali_qa.text import content_stems

    parent = list(range(len(cases)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    keys: dict[Any, int] = {}
    bags = [set(content_stems(c.item.question)) for c in cases]
    for i, case in enumerate(cases):
        for j, cand in enumerate(case.analysis.candidates):
            if case.labels[j]:
                key = (cand.passage.article_id, cand.start)
                if key in keys:
                    parent[find(i)] = find(keys[key])
                keys.setdefault(key, i)
        for k in range(i):
            union = bags[i] | bags[k]
            if union and len(bags[i] & bags[k]) / len(union) >= 0.5:
                parent[find(i)] = find(k)
    return [find(i) for i in range(len(cases))]


def logistic(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], c: float = 1.0) -> Any:
    from sklearn.linear_model import LogisticRegression

    from mali_qa.answer.scorer import Logistic

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    if len(set(y.tolist())) < 2:
        return Logistic(names, mean, scale, np.zeros(len(names)), 10.0 if y.all() else -10.0)
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    model.fit((x - mean) / scale, y)
    return Logistic(names, mean, scale, model.coef_[0], float(model.intercept_[0]))


def answered_correctly(case: Case, answer: Any) -> bool:
    from mali_qa.eval.scoring import score_item

    return bool(score_item(case.item, answer, 0.0)["correct"])


def fit(cases: list[Case]) -> Any:
    """The scorer fitted on these cases: sentences first, then the runner-up share, then the decision."""
    from mali_qa.answer.features import QUESTION_FEATURES, SENTENCE_FEATURES
    from mali_qa.answer.scorer import Scorer

    rows = [r for c in cases for part_rows in c.analysis.rows for r in part_rows]
    labels = [lab for c in cases for part_rows in c.analysis.rows for lab in c.labels[: len(part_rows)]]
    sentence = logistic(np.array(rows), np.array(labels), SENTENCE_FEATURES)
    answerable = [c for c in cases if c.item.answerable]

    def decided(scorer: Any, case: Case) -> Any:
        return case.analysis.engine.decide(case.analysis, scorer)

    best_share, best_rate = SHARES[-1], -1.0
    for share in SHARES:
        probe = Scorer(sentence, always_answer(), threshold=0.0, runner_up_share=share)
        rate = statistics.fmean(answered_correctly(c, compose_for(c, decided(probe, c))) for c in answerable)
        if rate > best_rate + 1e-9:
            best_share, best_rate = share, rate
    probe = Scorer(sentence, always_answer(), threshold=0.0, runner_up_share=best_share)
    features, targets = [], []
    for case in cases:
        decision = decided(probe, case)
        features.append(decision.features)
        targets.append(case.item.answerable and answered_correctly(case, compose_for(case, decision)))
    answer = logistic(np.array(features), np.array(targets), QUESTION_FEATURES, c=0.5)
    probabilities = answer.probability(np.array(features))
    threshold = choose_threshold(cases, probabilities, targets)
    return Scorer(sentence, answer, threshold=threshold, runner_up_share=best_share)


def always_answer() -> Any:
    """An answer decision that always answers (while the runner-up share is chosen)."""
    from mali_qa.answer.features import QUESTION_FEATURES
    from mali_qa.answer.scorer import Logistic

    n = len(QUESTION_FEATURES)
    return Logistic(QUESTION_FEATURES, np.zeros(n), np.ones(n), np.zeros(n), 10.0)


def compose_for(case: Case, decision: Any) -> Any:
    from mali_qa.answer.extractive import abstain, compose

    if not decision.chosen:
        return abstain(case.condensed, case.passages)
    return compose(case.condensed, decision.chosen, case.passages)


def choose_threshold(cases: list[Case], probabilities: np.ndarray, correct: list[bool]) -> float:
    """The threshold that maximizes the mean of answer accuracy and abstention accuracy on these cases."""
    answerable = np.array([c.item.answerable for c in cases])
    right = np.array(correct)
    best_t, best = 0.5, -1.0
    for t in np.linspace(0.05, 0.95, 91):
        answered = probabilities >= t
        answer_acc = (answered & right)[answerable].mean() if answerable.any() else 0.0
        abstain_acc = (~answered)[~answerable].mean() if (~answerable).any() else 0.0
        score = (answer_acc + abstain_acc) / 2
        if score > best + 1e-9:
            best_t, best = float(t), score
    return best_t


def evaluate(cases: list[Case], scorer: Any) -> list[dict[str, Any]]:
    from mali_qa.eval.scoring import score_item

    results = []
    for case in cases:
        answer = case.analysis.engine.answer_from(case.analysis, scorer)
        results.append(score_item(case.item, answer, 0.0))
    return results


def figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    from mali_qa.eval.scoring import aggregate

    summary = aggregate(results)
    answered = [r["words"] for r in results if r["answered"]]
    return {
        "items": len(results),
        "answer_accuracy": summary["answer_accuracy"],
        "abstention_accuracy": summary["abstention_accuracy"],
        "citation_hit_rate": summary["citation_hit_rate"],
        "median_words": statistics.median(answered) if answered else 0,
    }


def cross_validate(cases: list[Case], folds: int) -> list[dict[str, Any]]:
    from sklearn.model_selection import GroupKFold

    results: list[dict[str, Any]] = []
    splitter = GroupKFold(n_splits=folds)
    for train, test in splitter.split(np.zeros(len(cases)), groups=groups(cases)):
        scorer = fit([cases[i] for i in train])
        results += evaluate([cases[i] for i in test], scorer)
    return results


def show(label: str, f: dict[str, Any]) -> None:
    print(
        f"{label:<34} items {f['items']:>3}  answer {f['answer_accuracy']:.3f}  abstain "
        f"{f['abstention_accuracy']:.3f}  citation {f['citation_hit_rate']:.3f}  median words "
        f"{f['median_words']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="report only; keep the shipped weights")
    parser.add_argument("--json", help="write the figures to this JSON file")
    parser.add_argument("--with-dev", action="store_true", help="also fit on the shared development set")
    args = parser.parse_args()
    files = GOLD_FILES + ([DEV] if args.with_dev and DEV.is_file() else [])
    cases = build_cases(files)
    print(f"{len(cases)} questions from {', '.join(p.name for p in files)}")
    out: dict[str, Any] = {"files": [str(p.relative_to(ROOT.parent)) for p in files], "folds": args.folds}
    out["cross_validated"] = figures(cross_validate(cases, args.folds))
    show(f"held out ({args.folds}-fold, grouped)", out["cross_validated"])
    scorer = fit(cases)
    out["in_sample"] = figures(evaluate(cases, scorer))
    show("in sample", out["in_sample"])
    if DEV.is_file() and not args.with_dev:
        dev_cases = build_cases([DEV])
        out["shared_dev_unseen"] = figures(evaluate(dev_cases, scorer))
        show("shared dev set (not fitted on)", out["shared_dev_unseen"])
    print(f"threshold {scorer.threshold:.2f}, runner-up share {scorer.runner_up_share}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    if not args.no_write:
        scorer.save(WEIGHTS)
        print(f"wrote {WEIGHTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
