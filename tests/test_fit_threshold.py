"""The three thresholds of the learned engine's reply (`mali_qa.answer.calibrate`), chosen on held-out
predictions: answer when right 19 times in 20, else cap the unanswerables answered; the closest passages down
to where answerable questions end; the short answer only where it is right 9 times in 10."""

from __future__ import annotations

import numpy as np

from mali_qa.answer import calibrate


def test_answer_threshold_is_the_lowest_that_reaches_the_precision_target() -> None:
    # 40 right answers at 0.9, 10 wrong ones at 0.6, 30 right at 0.5: precision reaches 0.95 only above 0.6
    p = np.array([0.9] * 40 + [0.6] * 10 + [0.5] * 30)
    right = np.array([True] * 40 + [False] * 10 + [True] * 30)
    answerable = np.array([True] * 80)
    assert calibrate.answer_threshold(p, right, answerable) == 0.61


def test_unreachable_precision_caps_the_unanswerables_answered() -> None:
    # half the answers are wrong everywhere: no threshold reaches 0.95; 100 unanswerables spread 0.0-0.99
    rng = np.random.default_rng(0)
    p = np.r_[rng.uniform(0, 1, 100), np.linspace(0, 0.99, 100)]
    right = np.r_[np.arange(100) % 2 == 0, np.zeros(100, bool)]
    answerable = np.r_[np.ones(100, bool), np.zeros(100, bool)]
    t = calibrate.answer_threshold(p, right, answerable)
    unanswered_share = (p[~answerable] >= t).mean()
    assert unanswered_share <= calibrate.MAX_UNANSWERABLE_ANSWERED
    assert (p[~answerable] >= t - 0.01).mean() > calibrate.MAX_UNANSWERABLE_ANSWERED  # and the lowest such


def test_a_few_right_answers_at_the_top_do_not_decide() -> None:
    # five right answers at 0.99 are fewer than MIN_SUPPORT: the precision target is read over more
    p = np.array([0.99] * 5 + [0.7] * 40 + [0.1] * 40)
    right = np.array([True] * 5 + [False] * 40 + [False] * 40)
    answerable = np.array([True] * 45 + [False] * 40)
    t = calibrate.answer_threshold(p, right, answerable)
    assert t <= 0.7  # the cap on unanswerables (all at 0.1) decides, not the five at the top


def test_a_precise_top_that_answers_almost_nothing_does_not_decide() -> None:
    # 25 right answers at 0.99 (enough support, all right), then 300 answerable questions at 0.8 right 3 in 4,
    # and 100 unanswerables at 0.3: the top reaches 0.95 but answers 8% of the answerable questions, no engine
    p = np.array([0.99] * 25 + [0.8] * 300 + [0.3] * 100)
    right = np.array([True] * 25 + [i % 4 != 0 for i in range(300)] + [False] * 100)
    answerable = np.array([True] * 325 + [False] * 100)
    t = calibrate.answer_threshold(p, right, answerable)
    assert t <= 0.8  # the cap on unanswerables decides: every question at 0.8 is answered


def test_closest_passages_threshold_keeps_almost_every_answerable_question() -> None:
    p = np.r_[np.linspace(0.2, 1.0, 100), np.full(50, 0.02)]
    answerable = np.r_[np.ones(100, bool), np.zeros(50, bool)]
    about = calibrate.about_threshold(p, answerable, threshold=0.8)
    assert (p[answerable] >= about).mean() >= calibrate.ABOUT_KEEP
    assert (p[~answerable] >= about).mean() == 0.0  # the off-topic ones, far below, get "don't say"
    assert calibrate.about_threshold(p, answerable, threshold=0.1) == 0.1  # never above the answer threshold


def test_short_threshold_is_never_below_the_answer_threshold_and_never_when_unreliable() -> None:
    p = np.linspace(0.0, 1.0, 101)
    right_above_half: list[bool | None] = [None if i % 3 == 0 else i > 50 for i in range(101)]
    t = calibrate.short_threshold(p, right_above_half, threshold=0.3)
    shown = [(x, r) for x, r in zip(p, right_above_half, strict=True) if r is not None]
    assert np.mean([r for x, r in shown if x >= t]) >= calibrate.SHORT_PRECISION_TARGET
    assert np.mean([r for x, r in shown if x >= t - 0.01]) < calibrate.SHORT_PRECISION_TARGET  # the lowest
    assert calibrate.short_threshold(p, right_above_half, threshold=0.7) >= 0.7
    always_wrong: list[bool | None] = [False] * 101
    assert calibrate.short_threshold(p, always_wrong, threshold=0.3) == calibrate.NEVER
