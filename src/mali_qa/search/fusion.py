"""Reciprocal rank fusion of ranked lists (Cormack et al., 2009): a pure function over plain ids."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

#: The paper's constant: it damps the weight of the very first ranks.
RRF_K = 60.0


def reciprocal_rank_fusion(rankings: Sequence[Sequence[K]], k: float = RRF_K) -> list[tuple[K, float]]:
    """Items of every ranking (best first), each scored by the sum over rankings of 1 / (k + rank), rank
    counted from 0; best fused score first, ties in order of first appearance. A ranking lists an item once."""
    scores: dict[K, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (rank + k)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)
