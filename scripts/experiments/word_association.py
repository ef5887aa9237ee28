"""Does a word association fitted on the bank raise the linear ranker's held-out top-1?

For a question word q and a word s of a candidate sentence that the question lacks, A(q, s) is the log ratio
of how often s stands in answer sentences of questions holding q and in their other sentences (training
folds only; pairs seen once are dropped). A sentence's score is the mean over the question's words of its
best A. The weight added to the ranker's logit is chosen on inner folds of the training folds, with tables
fitted without the questions scored.

    .venv/bin/python scripts/experiments/word_association.py
"""

from __future__ import annotations

import math
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import fit_scorer as fs  # noqa: E402

from mali_qa.text import content_stems  # noqa: E402

WEIGHTS = (0.0, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
Table = dict[str, dict[str, float]]


def question_words(case: Any) -> set[str]:
    return set(content_stems(case.condensed.question))


def sentence_words(text: str) -> set[str]:
    return set(content_stems(text))


def usable(case: Any) -> bool:
    return bool(case.item.answerable and case.labels.any() and case.analysis.rows and case.analysis.rows[0])


def fit_table(cases: list[Any]) -> Table:
    together: dict[bool, Counter[tuple[str, str]]] = {True: Counter(), False: Counter()}
    totals: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
    rng = np.random.default_rng(0)
    for case in cases:
        if not case.labels.any():
            continue
        asked = question_words(case)
        negatives = np.where(~case.labels)[0]
        if len(negatives) > 30:
            negatives = rng.choice(negatives, 30, replace=False)
        for positive, indices in ((True, np.where(case.labels)[0]), (False, negatives)):
            for j in indices:
                other = sentence_words(case.analysis.candidates[j].text) - asked
                for q in asked:
                    totals[positive][q] += 1
                    for s in other:
                        together[positive][q, s] += 1
    table: Table = defaultdict(dict)
    for (q, s), n in together[True].items():
        if n < 2:
            continue
        rate_answer = (n + 0.5) / (totals[True][q] + 1)
        rate_other = (together[False].get((q, s), 0) + 0.5) / (totals[False][q] + 1)
        if (a := math.log(rate_answer / rate_other)) > 0:
            table[q][s] = a
    return table


def association(table: Table, case: Any, j: int) -> float:
    asked = question_words(case)
    if not asked:
        return 0.0
    other = sentence_words(case.analysis.candidates[j].text) - asked
    return sum(max((table.get(q, {}).get(s, 0.0) for s in other), default=0.0) for q in asked) / len(asked)


def top_is_answer(case: Any, scores: np.ndarray) -> bool:
    return bool(case.labels[int(np.argmax(scores))])


def scored(case: Any, ranker: Any, table: Table) -> tuple[np.ndarray, np.ndarray]:
    rows = np.array(case.analysis.rows[0])
    return ranker.logit(rows), np.array([association(table, case, j) for j in range(len(rows))])


def main() -> None:
    cases = fs.build_cases([p for p in fs.GOLD_FILES if p.is_file()])
    groups = np.array(fs.groups(cases))
    held: dict[float, list[bool]] = {w: [] for w in WEIGHTS}
    for train_idx, test_idx in GroupKFold(n_splits=5).split(np.zeros(len(cases)), groups=groups):
        train = [cases[i] for i in train_idx]
        ranker, table = fs.pairwise_ranker(train), fit_table(train)
        inner: dict[float, list[bool]] = {w: [] for w in WEIGHTS}
        for fit_idx, score_idx in GroupKFold(n_splits=4).split(
            np.zeros(len(train)), groups=groups[train_idx]
        ):
            inner_table = fit_table([train[i] for i in fit_idx])
            for case in (train[i] for i in score_idx if usable(train[i])):
                logit, assoc = scored(case, ranker, inner_table)
                for w in WEIGHTS:
                    inner[w].append(top_is_answer(case, logit + w * assoc))
        chosen = max(WEIGHTS, key=lambda w: float(np.mean(inner[w])))
        print(f"fold: weight chosen on inner folds {chosen}", flush=True)
        for case in (cases[i] for i in test_idx if usable(cases[i])):
            logit, assoc = scored(case, ranker, table)
            for w in WEIGHTS:
                held[w].append(top_is_answer(case, logit + w * assoc))
    for w, hits in held.items():
        print(f"weight {w}: held-out top-1 {np.mean(hits):.3f} ({len(hits)} answerable questions)")


if __name__ == "__main__":
    main()
