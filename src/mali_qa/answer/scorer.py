"""The fitted model of the offline engine: a logistic sentence scorer (how likely a sentence answers the
question) and a logistic answer-or-abstain decision, read from `data/scorer.json` (written by
`scripts/fit_scorer.py`, which prints its cross-validated figures)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mali_qa.answer.features import QUESTION_FEATURES, SENTENCE_FEATURES
from mali_qa.errors import ConfigError

#: Bump when the features change their meaning: a weights file of another version is refused.
FEATURES_VERSION = 6


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
        names = tuple(data["features"])
        if names != expected:
            raise ConfigError(
                "the offline engine's weights were fitted on other features: run `python scripts/fit_scorer.py`"
            )
        return cls(
            names,
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
        )


@dataclass(frozen=True)
class Scorer:
    """The sentence ranker (fitted on pairs of sentences of one question), the answer decision and its
    threshold, and how close to the best sentence's score a runner-up must be to be quoted too."""

    sentence: Logistic
    answer: Logistic
    threshold: float = 0.5
    runner_up_margin: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FEATURES_VERSION,
            "sentence": self.sentence.to_dict(),
            "answer": self.answer.to_dict(),
            "threshold": round(self.threshold, 4),
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
            Logistic.from_dict(data["answer"], QUESTION_FEATURES),
            float(data["threshold"]),
            float(data["runner_up_margin"]),
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")


@cache
def shipped_scorer() -> Scorer:
    """The weights shipped in the package (`mali_qa/data/scorer.json`)."""
    text = resources.files("mali_qa").joinpath("data").joinpath("scorer.json").read_text(encoding="utf-8")
    return Scorer.from_dict(json.loads(text))
