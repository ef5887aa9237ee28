"""Typo repair against the articles' own words: a question word the articles never use ("timbuktoo",
"frech", "wagnr") becomes the article word one or two edits away, so that retrieval and the answer step
see what was meant. Only longer article words are targets, so that a real word the articles lack ("bake")
is never turned into a common one ("base"), and a word of English the articles lack ("currency", "paying")
is no typo at all: it is never turned into the article word beside it ("current", "saying")."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from mali_qa.text import LETTER_WORD, STOPWORDS, letter_words, stem

#: Article words shorter than this are never a correction (too many real words lie one edit from them).
MIN_TARGET_LENGTH = 6
#: Question words shorter than this are left alone.
MIN_WORD_LENGTH = 4


def _deletes(word: str, depth: int) -> set[str]:
    found = {word}
    for _ in range(depth):
        found |= {w[:i] + w[i + 1 :] for w in found for i in range(len(w))}
    return found


def distance(a: str, b: str, limit: int | None = None) -> int:
    """Optimal-string-alignment distance: Damerau-Levenshtein where swapping two adjacent letters is one edit
    (and no stretch is edited twice). Past `limit` it stops counting and returns `limit + 1`."""
    # Imported on first use: most questions never reach a distance, and the import costs ~15 ms of start-up.
    from rapidfuzz.distance import OSA

    return OSA.distance(a, b, score_cutoff=limit)


class Speller:
    """Corrects question words against a count of the articles' words (lower case)."""

    def __init__(self, counts: Counter[str], known: frozenset[str] = frozenset()) -> None:
        self.counts = counts
        self.known = known  # words of English, never repaired (`store.minilm.english_words`)
        self.stems = {stem(w) for w in counts}
        self._by_delete: dict[str, list[str]] = {}
        for word in counts:
            if len(word) >= MIN_TARGET_LENGTH and word.isalpha():
                for key in _deletes(word, 2 if len(word) >= 8 else 1):
                    self._by_delete.setdefault(key, []).append(word)

    @classmethod
    def from_counts(cls, counts: dict[str, int], known: frozenset[str] = frozenset()) -> Speller:
        """From the word counts the ingest stored with the index (`vocab.json`)."""
        return cls(Counter(counts), known)

    @classmethod
    def from_texts(cls, texts: Iterable[str], known: frozenset[str] = frozenset()) -> Speller:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(letter_words(text))
        return cls(counts, known)

    def suggest(self, word: str) -> str:
        """The article word meant by `word`, or "" when it needs no repair or none is close enough."""
        lower = word.lower()
        if len(lower) < MIN_WORD_LENGTH or not lower.isalpha() or lower in STOPWORDS:
            return ""
        if lower in self.counts or stem(lower) in self.stems or lower in self.known:
            return ""
        limit = 1 if len(lower) <= 7 else 2
        candidates = {c for key in _deletes(lower, limit) for c in self._by_delete.get(key, [])}
        scored = [(distance(lower, c, limit), -self.counts[c], c) for c in candidates]
        scored = [s for s in scored if s[0] <= limit]
        return min(scored)[2] if scored else ""

    def correct(self, text: str) -> str:
        """`text` with every repairable word replaced (keeping a leading capital)."""

        def repair(match: re.Match[str]) -> str:
            word = match.group(0)
            better = self.suggest(word)
            if not better:
                return word
            return better.capitalize() if word[0].isupper() else better

        return LETTER_WORD.sub(repair, text)
