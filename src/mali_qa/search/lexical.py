"""BM25 over every passage, read from the files ingest wrote (`store.formats`: bm25s's arrays, memory-mapped,
and our passage ids): the question's tokens scored without any framework object per passage."""

from __future__ import annotations

from pathlib import Path

from mali_qa.store.formats import read_bm25


class Bm25Index:
    """The persisted BM25 of one index: `search` gives (passage id, score) pairs, best first."""

    def __init__(self, folder: Path) -> None:
        import bm25s
        import Stemmer

        stored = read_bm25(folder)
        self._bm25 = stored.model
        self._ids = stored.ids
        #: the passage id of each BM25 row: the passages of this index
        self.ids: tuple[str, ...] = tuple(stored.ids)
        self._pattern = stored.token_pattern
        self._stemmer = Stemmer.Stemmer(stored.stemmer) if stored.stemmer else None
        self.size = len(stored.ids)
        self._tokenize = bm25s.tokenize

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """The k best passages for the query, as (id, score); none when the query shares no term."""
        k = min(k, self.size)
        if k <= 0:
            return []
        tokens = self._tokenize(
            query, stemmer=self._stemmer, token_pattern=self._pattern, show_progress=False
        )
        if not any(tokens.ids):
            return []
        rows, scores = self._bm25.retrieve(tokens, k=k, show_progress=False)
        return [
            (self._ids[int(row)], float(score))
            for row, score in zip(rows[0], scores[0], strict=True)
            if float(score) > 0.0  # no shared term: no hit
        ]
