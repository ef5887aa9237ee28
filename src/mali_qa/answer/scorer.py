"""The fitted model of the offline engine: a linear sentence ranker (which sentence answers the question)
and an answer-or-abstain decision (small boosted trees, each feature's effect kept to one direction), read
from `data/scorer.json` (written by `scripts/fit_scorer.py`, which prints its cross-validated figures)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mali_qa import cache
from mali_qa.answer.features import QUESTION_FEATURES, SENTENCE_FEATURES
from mali_qa.errors import ConfigError

#: Bump when the features or the file's shape change: a weights file of another version is refused.
FEATURES_VERSION = 11


def _fitted_names(data: dict[str, Any], expected: tuple[str, ...]) -> tuple[str, ...]:
    """The feature names a fitted model was fitted on, which must be the ones the engine computes."""
    names = tuple(data["features"])
    if names != expected:
        raise ConfigError(
            "the offline engine's weights were fitted on other features: run `python scripts/fit_scorer.py`"
        )
    return names


@dataclass(frozen=True)
class Logistic:
    """p = sigmoid(((x - mean) / scale) . coef + intercept), over named features."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logit(self, rows: Any) -> np.ndarray:
        """The linear score of each row (a ranking score when the model was fitted on pairs)."""
        x = np.asarray(rows, dtype=np.float64).reshape(-1, len(self.names))
        return np.asarray(((x - self.mean) / self.scale) @ self.coef + self.intercept)

    def probability(self, rows: Any) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(self.logit(rows), -30, 30))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.names),
            "mean": self.mean.round(6).tolist(),
            "scale": self.scale.round(6).tolist(),
            "coef": self.coef.round(6).tolist(),
            "intercept": round(float(self.intercept), 6),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: tuple[str, ...]) -> Logistic:
        names = _fitted_names(data, expected)
        return cls(
            names,
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
        )


@dataclass(frozen=True)
class BoostedTrees:
    """p = sigmoid(baseline + the sum of one leaf value per tree), over named features. Each tree is a list
    of nodes [feature, threshold, left, right, value]; a node with left == -1 is a leaf; x <= threshold goes
    left. Fitted by scikit-learn's HistGradientBoostingClassifier and read here without it."""

    names: tuple[str, ...]
    baseline: float
    trees: tuple[tuple[tuple[int, float, int, int, float], ...], ...]

    def logit(self, rows: Any) -> np.ndarray:
        x = np.asarray(rows, dtype=np.float64).reshape(-1, len(self.names))
        out = np.full(len(x), self.baseline)
        for r, row in enumerate(x):
            for tree in self.trees:
                node = tree[0]
                while node[2] >= 0:
                    node = tree[node[2]] if row[node[0]] <= node[1] else tree[node[3]]
                out[r] += node[4]
        return out

    def probability(self, rows: Any) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(self.logit(rows), -30, 30))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "boosted_trees",
            "features": list(self.names),
            "baseline": round(self.baseline, 6),
            "trees": [
                [[f, round(t, 6), left, right, round(v, 6)] for f, t, left, right, v in tree]
                for tree in self.trees
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: tuple[str, ...]) -> BoostedTrees:
        names = _fitted_names(data, expected)
        trees = tuple(
            tuple((int(f), float(t), int(left), int(right), float(v)) for f, t, left, right, v in tree)
            for tree in data["trees"]
        )
        return cls(names, float(data["baseline"]), trees)


def decision_from_dict(data: dict[str, Any]) -> Logistic | BoostedTrees:
    """The answer decision of a weights file: boosted trees, or (an always-answer probe) a logistic."""
    if data.get("kind") == "boosted_trees":
        return BoostedTrees.from_dict(data, QUESTION_FEATURES)
    return Logistic.from_dict(data, QUESTION_FEATURES)


@dataclass(frozen=True)
class Scorer:
    """The sentence ranker (fitted on pairs of sentences of one question), the answer decision and its
    probability thresholds, and how close to the best sentence's score a runner-up must be to be quoted too.

    The decision's probability p reads three ways: p >= `threshold`, an answer; `about_threshold` <= p <
    `threshold`, the closest passages; below, "The articles don't say." The bold short answer is shown only
    when p >= `short_threshold`."""

    sentence: Logistic
    answer: Logistic | BoostedTrees
    threshold: float = 0.5
    runner_up_margin: float = 1.0
    about_threshold: float = 0.0
    short_threshold: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FEATURES_VERSION,
            "sentence": self.sentence.to_dict(),
            "answer": self.answer.to_dict(),
            "threshold": round(self.threshold, 4),
            "about_threshold": round(self.about_threshold, 4),
            "short_threshold": round(self.short_threshold, 4),
            "runner_up_margin": self.runner_up_margin,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scorer:
        if data.get("version") != FEATURES_VERSION:
            raise ConfigError(
                "the offline engine's weights are of another version: run `python scripts/fit_scorer.py`"
            )
        return cls(
            Logistic.from_dict(data["sentence"], SENTENCE_FEATURES),
            decision_from_dict(data["answer"]),
            float(data["threshold"]),
            float(data["runner_up_margin"]),
            float(data.get("about_threshold", 0.0)),
            float(data.get("short_threshold", data["threshold"])),
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")


@cache.memo()
def shipped_scorer() -> Scorer:
    """The weights shipped in the package (`mali_qa/data/scorer.json`)."""
    text = resources.files("mali_qa").joinpath("data").joinpath("scorer.json").read_text(encoding="utf-8")
    return Scorer.from_dict(json.loads(text))
