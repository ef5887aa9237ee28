"""The fit script's choice of the answer decision's threshold: the best of a smoothed curve, not a spike."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fit_scorer.py"


def fit_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fit_scorer", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["fit_scorer"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def cases(answerable: list[bool]) -> list[SimpleNamespace]:
    return [SimpleNamespace(item=SimpleNamespace(answerable=a)) for a in answerable]


def test_threshold_separates_answerable_from_unanswerable() -> None:
    script = fit_script()
    answerable = [True] * 20 + [False] * 20
    probabilities = np.array([0.8] * 20 + [0.2] * 20)
    threshold = script.choose_threshold(cases(answerable), probabilities, answerable)
    assert 0.2 < threshold <= 0.8


def test_a_narrow_spike_does_not_decide() -> None:
    """One unanswerable question at 0.485 and two answerable ones at 0.495 make the raw curve best at the
    one threshold between them; the wide plateau below (every answerable one answered, 19 of 20
    unanswerable declined) is where a threshold holds from one fit to the next."""
    script = fit_script()
    answerable = [True] * 20 + [False] * 20
    probabilities = np.array([0.9] * 18 + [0.495] * 2 + [0.1] * 19 + [0.485])
    grid = np.linspace(0.05, 0.95, 91)
    raw = [((probabilities >= t)[:20].mean() + (probabilities < t)[20:].mean()) / 2 for t in grid]
    assert abs(grid[int(np.argmax(raw))] - 0.49) < 1e-6  # the spike
    threshold = script.choose_threshold(cases(answerable), probabilities, answerable)
    assert 0.1 < threshold < 0.45
    script.SMOOTHING = 0.0  # unsmoothed, the spike decides
    assert abs(script.choose_threshold(cases(answerable), probabilities, answerable) - 0.49) < 1e-6
