"""Document frequencies of stems over every passage: how rare, and so how telling, a question term is."""

from __future__ import annotations

import math

from mali_qa import cache
from mali_qa.text import stems_match

#: Weight of a question word that no article uses: often a paraphrase, sometimes the very thing asked.
ABSENT_TERM_WEIGHT = 1.0
#: Even a word in every passage ("Mali") still counts for something: "the capital of Mali" is not Niamey.
MIN_TERM_WEIGHT = 0.5
#: Terms whose forms, frequency and weight are remembered; past it the memory starts again.
TERMS_KEPT = 100_000


@cache.memo(maxsize=500_000)
def _match(term: str, word_stem: str) -> bool:
    return stems_match(term, word_stem)


class Vocabulary:
    """Document frequencies of stems over every passage: how rare, and so how telling, a term is."""

    def __init__(self, df: dict[str, int], n_passages: int) -> None:
        self.df = df
        self.n = max(n_passages, 1)
        self._by_prefix: dict[str, list[str]] = {}
        for s in df:
            self._by_prefix.setdefault(s[:3], []).append(s)
        self._cache: dict[str, int] = {}
        self._near: dict[str, frozenset[str]] = {}
        self._weights: dict[str, float] = {}

    def near(self, term: str) -> frozenset[str]:
        """Every stem of the articles that counts as the term (itself, or a longer form of it)."""
        found = self._near.get(term)
        if found is None:
            if len(self._near) > TERMS_KEPT:
                self._near.clear()
            found = frozenset(s for s in self._by_prefix.get(term[:3], []) if _match(term, s)) | {term}
            self._near[term] = found
        return found

    def has(self, term: str, bag: frozenset[str]) -> bool:
        """Whether a bag of stems holds the term or a form of it."""
        return term in bag or not self.near(term).isdisjoint(bag)

    def frequency(self, term: str) -> int:
        """Passages holding the term or a close form of it (0: the articles never use it)."""
        if term in self.df:
            return self.df[term]
        if term not in self._cache:
            if len(self._cache) > TERMS_KEPT:
                self._cache.clear()
            near = [self.df[s] for s in self._by_prefix.get(term[:3], []) if _match(term, s)]
            self._cache[term] = max(near, default=0)
        return self._cache[term]

    def weight(self, term: str) -> float:
        """IDF of the term; a word no article uses weighs ABSENT_TERM_WEIGHT: questions paraphrase, so one
        unknown verb must not sink an answerable question (unknown names and answer classes are caught
        before, by `reading.unknown_names` and `reading.missing_head`)."""
        found = self._weights.get(term)
        if found is None:
            df = self.frequency(term)
            found = (
                ABSENT_TERM_WEIGHT
                if df == 0
                else max(MIN_TERM_WEIGHT, math.log(1.0 + (self.n - df + 0.5) / (df + 0.5)))
            )
            if len(self._weights) > TERMS_KEPT:
                self._weights.clear()
            self._weights[term] = found
        return found
