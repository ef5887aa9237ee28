"""Fit the learned offline engine's sentence ranker and answer decision on the gold files (the team's bank,
the project's set and the shared development set), print grouped k-fold cross-validated and in-sample
figures, and write the weights the package ships (src/mali_qa/data/scorer.json).

    .venv/bin/python scripts/fit_scorer.py              # report, then write the weights
    .venv/bin/python scripts/fit_scorer.py --no-write   # report only
    .venv/bin/python scripts/fit_scorer.py --json FILE  # also write the figures as JSON
    .venv/bin/python scripts/fit_scorer.py --no-write --min-answer 0.68 ...   # a gate on held-out figures

Sentence labels come from the gold files: a candidate sentence is positive when it holds (most of) one of
the item's evidence strings, or every must_include group in a source article. Folds are grouped so that
questions on the same fact (the same first evidence string) and near-duplicate questions (three content
words shared, most of both questions') never sit on both sides of a split. Nothing is tuned on a held-out
fold: each fold's ranker, runner-up margin, decision and threshold are fitted on the other folds alone.
The cross-validation is repeated with the groups dealt into folds anew (--repeats, 5 by default): one
dealing alone moved the figures by several points (abstention 0.79 to 0.83 between two of them), so the
figures printed and gated are over every repeat, with their spread across repeats.
Needs the dev extras (scikit-learn, scipy): `pip install -e '.[dev]'`."""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mali_qa.answer import calibrate

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "gold_dev.jsonl"
GOLD_FILES = [*sorted((ROOT / "eval" / "bank").glob("*.jsonl")), ROOT / "eval" / "gold.jsonl", DEV]
WEIGHTS = ROOT / "src" / "mali_qa" / "data" / "scorer.json"
#: The answer decision: gradient-boosted trees this small (depth 2: pairs of features interact, as "a short
#: question whose every term the articles use"), each feature's effect kept to its DECISION_SIGNS direction.
DECISION_TREES = {
    "max_depth": 2,
    "max_iter": 100,
    "learning_rate": 0.05,
    "min_samples_leaf": 20,
    "l2_regularization": 1.0,
}
#: The direction of each answer-decision feature's effect, as SIGNS for the ranker (others are free).
DECISION_SIGNS = {
    "best": 1,
    "margin": 1,
    "best_coverage": 1,
    "best_similarity": 1,
    "best_strict": 1,
    "best_focus_any": 1,
    "best_kind": 1,
    "best_kind_missing": -1,
    "best_name_missing": -1,
    "best_subject_conflict": -1,
    "top_passage_cosine": 1,
    "unknown_names": -1,
    "missing_head": -1,
    "unknown_term_share": -1,
    "rules_answered": 1,
}
MARGINS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)
#: The runner-up margin is chosen among those whose median answer stays within this many words.
MEDIAN_WORDS = 50


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
            condensed = pipe.standalone(item.question, item.history)
            passages = pipe.retrieve(condensed.search_text, settings.top_k)
            analysis = pipe.offline.analyse(condensed, passages)
            labels = np.array([is_answer(c, item) for c in analysis.candidates], dtype=bool)
            cases.append(Case(item, analysis, labels, passages, condensed))
    return cases


def groups(cases: list[Case]) -> list[int]:
    """A group id per case: the same first evidence string (the same fact asked again), or three content stems
    shared that make most of both questions' (a near-duplicate question), means the same group."""
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
        if case.item.evidence:  # the item's own first evidence string names the fact it asks about
            key = (
                case.item.sources[0] if case.item.sources else "",
                tuple(norm_words(case.item.evidence[0])[:6]),
            )
            if key in keys:
                parent[find(i)] = find(keys[key])
            keys.setdefault(key, i)
        for k in range(i):
            union = bags[i] | bags[k]
            shared = len(bags[i] & bags[k])
            # three content words shared at least, and most of them: short questions ("goita?", "who is
            # goita", "goita coup date") would otherwise chain half the bank into one group, and a split
            # would train on a small part of it
            if shared >= 3 and shared / len(union) >= 0.6:
                parent[find(i)] = find(k)
    return [find(i) for i in range(len(cases))]


def logistic(
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...],
    *,
    l2: float = 1.0,
    signs: dict[str, int] | None = None,
    intercept: bool = True,
) -> Any:
    """Logistic regression on standardized features with an L2 penalty, classes weighted to balance, and
    each weight kept to the sign `signs` gives its feature (+1 or -1; unnamed features are free)."""
    from scipy.optimize import minimize

    from mali_qa.answer.scorer import Logistic

    mean = x.mean(axis=0) if intercept else np.zeros(x.shape[1])
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    if len(set(y.tolist())) < 2:
        return Logistic(names, mean, scale, np.zeros(len(names)), 10.0 if y.all() else -10.0)
    z = (x - mean) / scale
    target = np.where(y, 1.0, -1.0)
    weight = np.where(y, len(y) / (2 * y.sum()), len(y) / (2 * (~y.astype(bool)).sum()))

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1] if intercept else 0.0
        margin = target * (z @ w + b)
        value = (weight * np.logaddexp(0.0, -margin)).sum() + 0.5 * l2 * w @ w
        g = -weight * target / (1.0 + np.exp(margin))
        grad_b = [g.sum()] if intercept else [0.0]
        return float(value), np.r_[z.T @ g + l2 * w, grad_b]

    bounds = [(0.0, None) if (signs or {}).get(n) == 1 else (None, 0.0) if (signs or {}).get(n) == -1
              else (None, None) for n in names] + [(None, None) if intercept else (0.0, 0.0)]  # fmt: skip
    fitted = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    return Logistic(names, mean, scale, fitted.x[:-1], float(fitted.x[-1]))


def answered_correctly(case: Case, answer: Any) -> bool:
    from mali_qa.eval.scoring import score_item

    return bool(score_item(case.item, answer, 0.0)["correct"])


def fit(cases: list[Case]) -> Any:
    """The scorer fitted on these cases: sentences first, then the runner-up margin, then the decision."""
    from mali_qa.answer.scorer import Scorer
    from mali_qa.eval.scoring import word_count

    sentence = pairwise_ranker(cases)
    answerable = [c for c in cases if c.item.answerable]

    def decided(scorer: Any, case: Case) -> Any:
        return case.analysis.engine.decide(case.analysis, scorer)

    best_share, best_rate = MARGINS[0], -1.0
    for share in MARGINS:
        probe = Scorer(sentence, always_answer(), threshold=0.0, runner_up_margin=share)
        answers = [compose_for(c, decided(probe, c)) for c in answerable]
        rate = statistics.fmean(answered_correctly(c, a) for c, a in zip(answerable, answers, strict=True))
        median = statistics.median(word_count(a.text) for a in answers)
        if median <= MEDIAN_WORDS and rate > best_rate + 1e-9:
            best_share, best_rate = share, rate
    probe = Scorer(sentence, always_answer(), threshold=0.0, runner_up_margin=best_share)
    features, targets, correct, shorts = [], [], [], []
    for case in cases:
        decision = decided(probe, case)
        answer = compose_for(case, decision)
        features.append(decision.features)
        targets.append(case.item.answerable)
        correct.append(case.item.answerable and answered_correctly(case, answer))
        shorts.append(short_right(case, decision, answer))
    x, y = np.array(features), np.array(targets)
    answer = boosted_decision(x, y)
    # the thresholds are chosen on predictions for questions the decision was not fitted on (inner folds)
    held = np.zeros(len(cases))
    for train, test in inner_folds(len(cases)):
        held[test] = boosted_decision(x[train], y[train]).probability(x[test])
    threshold = calibrate.answer_threshold(held, np.array(correct), y)
    return Scorer(
        sentence,
        answer,
        threshold=threshold,
        runner_up_margin=best_share,
        about_threshold=calibrate.about_threshold(held, y, threshold),
        short_threshold=calibrate.short_threshold(held, shorts, threshold),
    )


def short_right(case: Case, decision: Any, answer: Any) -> bool | None:
    """Whether the short answer the engine would show with these sentences holds the answer (None: none)."""
    from mali_qa.answer.compose import with_short

    parts = case.analysis.parts
    if not decision.chosen or len(parts) != 1:
        return None
    short = with_short(answer, parts[0], decision.chosen[0]).short.lower()
    if not short:
        return None
    return case.item.answerable and any(alt in short for g in case.item.must_include for alt in g)


#: The sign each sentence feature's weight may take (+1: never against a sentence, -1: never for it); the
#: others are free. The features are built to point one way: a ranker that learns "more coverage is worse"
#: from noise would fail on questions it has not seen.
SIGNS = {
    "coverage": 1,
    "focus_coverage": 1,
    "title_coverage": 1,
    "similarity": 1,
    "kind": 1,
    "kind_missing": -1,
    "name_missing": -1,
    "new_answer": 1,
    "subject_agreement": 1,
    "subject_conflict": -1,
    "reciprocal_rank": 1,
    "fused_score": 1,
    "short": -1,
    "rules_score": 1,
    "rules_quoted": 1,
}


def pairwise_ranker(cases: list[Case], l2: float = 1.0, max_negatives: int = 30) -> Any:
    """A linear ranker of sentences: logistic loss on the differences between a sentence holding the answer
    and one that does not, of the same question (no intercept), with an L2 penalty and the SIGNS bounds."""
    from mali_qa.answer.features import SENTENCE_FEATURES
    from mali_qa.answer.scorer import Logistic

    rng = np.random.default_rng(0)
    diffs = []
    for case in cases:
        for part_rows in case.analysis.rows[:1]:
            rows = np.array(part_rows)
            labels = case.labels[: len(rows)]
            positives, negatives = np.where(labels)[0], np.where(~labels)[0]
            if len(negatives) > max_negatives:
                negatives = rng.choice(negatives, max_negatives, replace=False)
            diffs += [rows[p] - rows[n] for p in positives for n in negatives]
    n = len(SENTENCE_FEATURES)
    if not diffs:
        return Logistic(SENTENCE_FEATURES, np.zeros(n), np.ones(n), np.zeros(n), 0.0)
    x = np.array(diffs)
    both = np.vstack([x, -x])
    labels = np.r_[np.ones(len(x), dtype=bool), np.zeros(len(x), dtype=bool)]
    return logistic(both, labels, SENTENCE_FEATURES, l2=l2, signs=SIGNS, intercept=False)


def boosted_decision(x: np.ndarray, y: np.ndarray) -> Any:
    """The answer decision fitted on question features x and answerable labels y (classes balanced), exported
    to `BoostedTrees` (read at run time without scikit-learn)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from mali_qa.answer.features import QUESTION_FEATURES
    from mali_qa.answer.scorer import BoostedTrees

    if len(set(y.tolist())) < 2:
        return BoostedTrees(QUESTION_FEATURES, 10.0 if y.all() else -10.0, ())
    model = HistGradientBoostingClassifier(
        **DECISION_TREES,
        class_weight="balanced",
        monotonic_cst=[DECISION_SIGNS.get(name, 0) for name in QUESTION_FEATURES],
        random_state=0,
    ).fit(x, y)
    trees = tuple(
        tuple(
            (int(n["feature_idx"]), float(n["num_threshold"]), -1, -1, float(n["value"]))
            if n["is_leaf"]
            else (int(n["feature_idx"]), float(n["num_threshold"]), int(n["left"]), int(n["right"]), 0.0)
            for n in predictors[0].nodes
        )
        for predictors in model._predictors  # the fitted trees (scikit-learn has no public export)
    )
    exported = BoostedTrees(QUESTION_FEATURES, float(np.ravel(model._baseline_prediction)[0]), trees)
    assert np.allclose(exported.probability(x), model.predict_proba(x)[:, 1], atol=1e-6)
    return exported


def inner_folds(n: int, k: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """k interleaved folds of n items (the cases of one training split)."""
    index = np.arange(n)
    return [(index[index % k != f], index[index % k == f]) for f in range(k)]


def always_answer() -> Any:
    """An answer decision that always answers (while the runner-up share is chosen)."""
    from mali_qa.answer.features import QUESTION_FEATURES
    from mali_qa.answer.scorer import Logistic

    n = len(QUESTION_FEATURES)
    return Logistic(QUESTION_FEATURES, np.zeros(n), np.ones(n), np.zeros(n), 10.0)


def compose_for(case: Case, decision: Any) -> Any:
    from mali_qa.answer.compose import abstain, compose

    if not decision.chosen:
        return abstain(case.condensed, case.passages)
    return compose(case.condensed, decision.chosen, case.passages, best_first=True)


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
        "items": len(results) // max(1, len({r.get("repeat", 0) for r in results})),
        "answer_accuracy": summary["answer_accuracy"],
        "abstention_accuracy": summary["abstention_accuracy"],
        "citation_hit_rate": summary["citation_hit_rate"],
        "precision": summary["precision"],
        "evidence_shown": summary["evidence_shown"],
        "unanswerable_answered": summary["unanswerable_answered"],
        "short_precision": summary["short_precision"],
        "median_words": statistics.median(answered) if answered else 0,
    }


def cross_validate(
    cases: list[Case], case_groups: list[int], folds: int, repeats: int = 1
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Held-out results of the fitted engine, and of its ranker alone (never abstaining): every case once per
    repeat, each repeat dealing the groups (`groups(cases)`) into folds with its own seed (results tagged
    with "repeat")."""
    from dataclasses import replace

    from sklearn.model_selection import GroupKFold

    results: list[dict[str, Any]] = []
    ranker_only: list[dict[str, Any]] = []
    for repeat in range(repeats):
        splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=repeat)
        for train, test in splitter.split(np.zeros(len(cases)), groups=case_groups):
            scorer = fit([cases[i] for i in train])
            held = [cases[i] for i in test]
            results += [{**r, "repeat": repeat} for r in evaluate(held, scorer)]
            ranker_only += [
                {**r, "repeat": repeat} for r in evaluate(held, replace(scorer, answer=always_answer()))
            ]
    return results, ranker_only


def spread(results: list[dict[str, Any]]) -> dict[str, float]:
    """The standard deviation across repeats of each held-out rate."""
    repeats = sorted({r["repeat"] for r in results})
    per_repeat = [figures([r for r in results if r["repeat"] == k]) for k in repeats]
    return {
        key: float(np.std([f[key] for f in per_repeat]))
        for key in (
            "answer_accuracy",
            "abstention_accuracy",
            "citation_hit_rate",
            "precision",
            "evidence_shown",
        )
        if all(f[key] is not None for f in per_repeat)
    }


def show(label: str, f: dict[str, Any]) -> None:
    def rate(value: float | None) -> str:
        return "  -  " if value is None else f"{value:.3f}"

    print(
        f"{label:<34} items {f['items']:>3}  answer {rate(f['answer_accuracy'])}  abstain "
        f"{rate(f['abstention_accuracy'])}  citation {rate(f['citation_hit_rate'])}  median words "
        f"{f['median_words']}"
    )
    print(
        f"{'':<34} answers right / given {rate(f['precision'])}  evidence shown {rate(f['evidence_shown'])}  "
        f"unanswerables answered {rate(f['unanswerable_answered'])}  short right {rate(f['short_precision'])}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--repeats", type=int, default=5, help="cross-validations, each dealing the groups into folds anew"
    )
    parser.add_argument("--no-write", action="store_true", help="report only; keep the shipped weights")
    parser.add_argument("--json", help="write the figures to this JSON file")
    parser.add_argument("--min-answer", type=float, help="exit 1 when held-out answer accuracy is below")
    parser.add_argument("--min-abstain", type=float, help="exit 1 when held-out abstention accuracy is below")
    parser.add_argument(
        "--min-citation", type=float, help="exit 1 when the held-out citation hit rate is below"
    )
    parser.add_argument(
        "--min-precision", type=float, help="exit 1 when held-out answers right / given is below"
    )
    parser.add_argument("--min-evidence", type=float, help="exit 1 when the held-out evidence shown is below")
    parser.add_argument(
        "--max-unanswerable-answered", type=float, help="exit 1 when held-out unanswerables answered is above"
    )
    args = parser.parse_args()
    files = [p for p in GOLD_FILES if p.is_file()]
    cases = build_cases(files)
    print(f"{len(cases)} questions from {', '.join(p.name for p in files)}")
    case_groups = groups(cases)
    sizes = sorted(Counter(case_groups).values(), reverse=True)
    print(f"{len(sizes)} groups of questions on one fact; the largest hold {sizes[:5]}")
    out: dict[str, Any] = {
        "files": [os.path.relpath(p, ROOT) for p in files],  # from the project root
        "folds": args.folds,
        "repeats": args.repeats,
    }
    held_out, ranker_only = cross_validate(cases, case_groups, args.folds, args.repeats)
    out["cross_validated"] = figures(held_out)
    out["cross_validated_spread"] = spread(held_out)
    bank = [r for r in held_out if str(r["id"]).startswith("b")]
    out["cross_validated_bank_only"] = figures(bank)
    out["cross_validated_never_abstaining"] = figures(ranker_only)
    show(f"held out ({args.folds}-fold, grouped, x{args.repeats})", out["cross_validated"])
    print(
        "  spread across repeats (sd)      "
        + "  ".join(f"{k.split('_')[0]} {v:.3f}" for k, v in out["cross_validated_spread"].items())
    )
    show("held out, never abstaining", out["cross_validated_never_abstaining"])
    show("held out, the bank's questions only", out["cross_validated_bank_only"])
    kinds = sorted({r["type"] for r in held_out})
    out["cross_validated_by_type"] = {k: figures([r for r in held_out if r["type"] == k]) for k in kinds}
    for kind, f in out["cross_validated_by_type"].items():
        show(f"  held out, {kind}", f)
    in_conversation = {c.item.id for c in cases if c.item.history}
    out["cross_validated_unanswerable_in_conversation"] = figures(
        [r for r in held_out if r["type"] == "unanswerable" and r["id"] in in_conversation]
    )
    show("  held out, unanswerable follow-up", out["cross_validated_unanswerable_in_conversation"])
    scorer = fit(cases)
    out["in_sample"] = figures(evaluate(cases, scorer))
    show("in sample", out["in_sample"])
    print(
        f"thresholds: answer {scorer.threshold:.2f}, closest passages {scorer.about_threshold:.2f}, "
        f"short answer {scorer.short_threshold:.2f}; runner-up margin {scorer.runner_up_margin}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    if not args.no_write:
        scorer.save(WEIGHTS)
        print(f"wrote {WEIGHTS.relative_to(ROOT)}")
    held = out["cross_validated"]
    failed = [
        f"held-out {key} {held[key]:.3f} is below {floor}"
        for key, floor in (
            ("answer_accuracy", args.min_answer),
            ("abstention_accuracy", args.min_abstain),
            ("citation_hit_rate", args.min_citation),
            ("precision", args.min_precision),
            ("evidence_shown", args.min_evidence),
        )
        if floor is not None and (held[key] is None or held[key] < floor)
    ]
    ceiling = args.max_unanswerable_answered
    if ceiling is not None and (held["unanswerable_answered"] or 0.0) > ceiling:
        failed.append(
            f"held-out unanswerable_answered {held['unanswerable_answered']:.3f} is above {ceiling}"
        )
    for line in failed:
        print(f"fit_scorer: gate failed: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
