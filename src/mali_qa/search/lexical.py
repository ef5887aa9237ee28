"""BM25 over every passage, read straight from the files llama-index's BM25Retriever persisted at ingest (the
bm25s arrays and its corpus, memory-mapped): the same tokens and scores, without llama-index's node
objects, so that a question neither imports the framework nor holds every passage as a Python object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: llama-index's BM25Retriever defaults, which the ingest used (retriever.json records any other choice).
TOKEN_PATTERN = r"(?u)\b\w\w+\b"


class Bm25Index:
    """The persisted BM25 of one index: `search` gives (passage id, score) pairs, best first."""

    def __init__(self, folder: Path) -> None:
        import bm25s
        import Stemmer

        options = json.loads((folder / "retriever.json").read_text(encoding="utf-8"))
        self._pattern = str(options.get("token_pattern") or TOKEN_PATTERN)
        self._stemmer = None if options.get("skip_stemming") else Stemmer.Stemmer("english")
        self._bm25: Any = bm25s.BM25.load(str(folder), load_corpus=True, mmap=True, show_progress=False)
        self.size = int(self._bm25.scores.get("num_docs") or 0)
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
        indexes, scores = self._bm25.retrieve(tokens, k=k, show_progress=False)
        corpus = self._bm25.corpus
        return [
            (str((hit if isinstance(hit, dict) else corpus[int(hit)])["node_id"]), float(score))
            for hit, score in zip(indexes[0], scores[0], strict=True)  # bm25s gives the corpus rows
            if float(score) > 0.0  # no shared term: no hit
        ]
