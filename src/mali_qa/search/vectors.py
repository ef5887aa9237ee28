"""Nearest-vector look-ups of one index, two ways with one interface: a small index is read from Chroma once
and searched exactly in memory (one matrix product: no query round trip per question); a large one, or one
on a Chroma server past the limit, is queried through Chroma's HNSW every time. Distances are cosine
distances (1 - cosine) either way, as the collections are made with `hnsw:space: cosine`. Either way only the
passages of the loaded index's manifest (its BM25 ids) are seen: vectors an ingest is adding meanwhile are
left out."""

from __future__ import annotations

import threading
from typing import Any, Protocol

import numpy as np

#: A stored passage as Chroma returns it: id, text and flat metadata (article_id, title, start, end, ...).
StoredPassage = tuple[str, str, dict[str, Any]]

#: Sentence vectors kept in memory after a question read them from Chroma (384 float32 each: 20,000 take
#: 31 MB).
SENTENCE_VECTORS_KEPT = 20_000


class VectorSearch(Protocol):
    def nearest_passages(self, vector: np.ndarray, n: int) -> list[tuple[StoredPassage, float]]:
        """The `n` passages nearest to `vector`, nearest first, with their cosine distances."""
        ...

    def nearest_sentences(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """The ids of the `n` sentences nearest to `vector`, nearest first, with their cosine distances."""
        ...

    def passages(self, ids: list[str]) -> list[StoredPassage]:
        """Stored passages in the order of `ids` (missing ones left out)."""
        ...

    def sentence_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored sentence vectors by id (missing ids left out)."""
        ...


def passage_of(sentence_id: str) -> str:
    """The passage id of a sentence vector's id (`<passage id>/<j>`)."""
    return sentence_id.rsplit("/", 1)[0]


class ChromaSearch:
    """Every look-up is a Chroma query; the sentence vectors read lately are kept (up to
    SENTENCE_VECTORS_KEPT), as questions keep retrieving the same passages."""

    def __init__(
        self, passages: Any, sentences: Any, n_passages: int, n_sentences: int, allowed: set[str]
    ) -> None:
        self._passages, self._sentences, self._allowed = passages, sentences, allowed
        self._n_passages, self._n_sentences = max(n_passages, 1), max(n_sentences, 1)
        self._kept: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def nearest_passages(self, vector: np.ndarray, n: int) -> list[tuple[StoredPassage, float]]:
        hits = self._passages.query(
            query_embeddings=[vector.tolist()],
            n_results=min(n, self._n_passages),
            include=["documents", "metadatas", "distances"],
        )
        return [
            ((pid, text or "", dict(meta or {})), float(distance))
            for pid, text, meta, distance in zip(
                hits["ids"][0], hits["documents"][0], hits["metadatas"][0], hits["distances"][0], strict=True
            )
            if pid in self._allowed
        ]

    def nearest_sentences(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        hits = self._sentences.query(
            query_embeddings=[vector.tolist()], n_results=min(n, self._n_sentences), include=["distances"]
        )
        return [
            (sid, float(d))
            for sid, d in zip(hits["ids"][0], hits["distances"][0], strict=True)
            if passage_of(sid) in self._allowed
        ]

    def passages(self, ids: list[str]) -> list[StoredPassage]:
        ids = [i for i in ids if i in self._allowed]
        if not ids:
            return []
        got = self._passages.get(ids=ids, include=["documents", "metadatas"])
        found = {
            i: (i, t or "", dict(m or {}))
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        return [found[i] for i in ids if i in found]

    def sentence_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        with self._lock:
            found = {i: self._kept[i] for i in ids if i in self._kept}
        missing = [i for i in ids if i not in found]
        if missing:
            got = self._sentences.get(ids=missing, include=["embeddings"])
            fetched = {
                i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"], strict=True)
            }
            found.update(fetched)
            with self._lock:
                if len(self._kept) + len(fetched) > SENTENCE_VECTORS_KEPT:
                    self._kept.clear()
                self._kept.update(fetched)
        return found


class MemorySearch:
    """The whole index read from Chroma once (passages with their texts, sentence vectors) and searched
    exactly: a question costs one matrix product instead of two Chroma queries and two reads."""

    def __init__(self, passages: Any, sentences: Any, allowed: set[str]) -> None:
        got = _only(passages.get(include=["documents", "metadatas", "embeddings"]), allowed, lambda i: i)
        #: passages of the index that Chroma no longer holds (an ingest is deleting or replacing them)
        self.missing = len(allowed - set(got["ids"]))
        self._stored: dict[str, StoredPassage] = {
            pid: (pid, text or "", dict(meta or {}))
            for pid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        self._passage_ids: list[str] = list(got["ids"])
        self._passage_matrix = _unit_rows(got["embeddings"])
        got = _only(sentences.get(include=["embeddings"]), allowed, passage_of)
        self._sentence_ids: list[str] = list(got["ids"])
        self._sentence_matrix = _unit_rows(got["embeddings"])
        self._sentence_rows = {sid: row for row, sid in enumerate(self._sentence_ids)}

    @property
    def size(self) -> int:
        return len(self._passage_ids) + len(self._sentence_ids)

    def nearest_passages(self, vector: np.ndarray, n: int) -> list[tuple[StoredPassage, float]]:
        return [
            (self._stored[self._passage_ids[row]], distance)
            for row, distance in _nearest(self._passage_matrix, vector, n)
        ]

    def nearest_sentences(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        return [
            (self._sentence_ids[row], distance)
            for row, distance in _nearest(self._sentence_matrix, vector, n)
        ]

    def passages(self, ids: list[str]) -> list[StoredPassage]:
        return [self._stored[i] for i in ids if i in self._stored]

    def sentence_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        rows = self._sentence_rows
        return {i: self._sentence_matrix[rows[i]] for i in ids if i in rows}


def _only(got: dict[str, Any], allowed: set[str], passage: Any) -> dict[str, Any]:
    """The rows of a Chroma `get` whose passage is allowed."""
    keep = [row for row, i in enumerate(got["ids"]) if passage(i) in allowed]
    if len(keep) == len(got["ids"]):
        return got
    return {
        key: [values[row] for row in keep]
        for key, values in got.items()
        if key in ("ids", "documents", "metadatas", "embeddings") and values is not None
    }


def _unit_rows(vectors: Any) -> np.ndarray:
    """Vectors as float32 rows of length one (Chroma's cosine distance normalizes them too)."""
    matrix = np.asarray(
        vectors if vectors is not None and len(vectors) else np.zeros((0, 0)), dtype=np.float32
    )
    if matrix.ndim != 2 or not len(matrix):
        return np.zeros((0, 0), dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def _nearest(matrix: np.ndarray, vector: np.ndarray, n: int) -> list[tuple[int, float]]:
    """Rows of the `n` largest cosines with `vector`, as (row, cosine distance), nearest first."""
    if not len(matrix) or n <= 0:
        return []
    norm = float(np.linalg.norm(vector)) or 1.0
    cosines = matrix @ (np.asarray(vector, dtype=np.float32) / norm)
    n = min(n, len(cosines))
    top = np.argpartition(-cosines, n - 1)[:n] if n < len(cosines) else np.arange(len(cosines))
    top = top[np.argsort(-cosines[top], kind="stable")]
    return [(int(row), float(1.0 - cosines[row])) for row in top]
