"""Reciprocal rank fusion as a pure function over plain ranked lists."""

from __future__ import annotations

import pytest

from mali_qa.search.fusion import RRF_K, reciprocal_rank_fusion


def test_one_ranking_keeps_its_order_and_scores_one_over_k_plus_rank() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"]])
    assert [item for item, _ in fused] == ["a", "b", "c"]
    assert fused[0][1] == pytest.approx(1 / RRF_K) and fused[2][1] == pytest.approx(1 / (RRF_K + 2))


def test_an_item_found_by_two_rankings_beats_the_top_of_one() -> None:
    fused = reciprocal_rank_fusion([["a", "b"], ["c", "b"]])
    assert fused[0][0] == "b"
    assert fused[0][1] == pytest.approx(2 / (RRF_K + 1))


def test_ties_keep_the_order_of_first_appearance() -> None:
    assert [item for item, _ in reciprocal_rank_fusion([["x"], ["y"]])] == ["x", "y"]


def test_empty_rankings_fuse_to_nothing() -> None:
    assert reciprocal_rank_fusion([[], []]) == []
