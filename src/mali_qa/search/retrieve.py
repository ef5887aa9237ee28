"""Hybrid retrieval: passage vectors (Chroma), sentence vectors and BM25 ranked separately, then fused by
reciprocal rank; each passage keeps its dense similarity and its sentences' cosines for the answer step.
Chroma and bm25s are queried directly: no framework objects are made per hit."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import numpy as np

from mali_qa.search.fusion import reciprocal_rank_fusion
from mali_qa.search.index import IndexState
from mali_qa.search.vectors import StoredPassage
from mali_qa.store.chroma import sentence_ids
from mali_qa.text import split_sentences
from mali_qa.types import Passage

#: Each ranking looks this many passages past top_k, so that fusion can promote what one of them ranks low.
RETRIEVER_SLACK = 14

#: One ranking: (passage id, score), best first.
Ranking = list[tuple[str, float]]


def dense_ranking(
    state: IndexState, vector: np.ndarray, depth: int, stored: dict[str, StoredPassage]
) -> Ranking:
    """The passages nearest to the query vector. The score is exp(-distance), as llama-index's Chroma store
    reports it (the fitted answer model reads it); the passages are kept in `stored`."""
    ranking = []
    for passage, distance in state.search.nearest_passages(vector, depth):
        stored[passage[0]] = passage
        ranking.append((passage[0], math.exp(-distance)))
    return ranking


def sentence_ranking(state: IndexState, vector: np.ndarray, depth: int) -> Ranking:
    """Dense retrieval at the sentence level: the passages holding the sentences nearest to the query (a
    long passage's vector blurs its one telling sentence), scored by their best sentence's cosine."""
    best: dict[str, float] = {}
    for sid, distance in state.search.nearest_sentences(vector, depth * 2):
        best.setdefault(sid.rsplit("/", 1)[0], 1.0 - distance)
    return list(best.items())[:depth]


class HybridRetriever:
    """Dense passage, dense sentence and BM25 rankings of one index, fused by reciprocal rank."""

    def __init__(self, state: IndexState, top_k: int) -> None:
        self._state = state
        self.top_k = top_k
        self.depth = top_k + RETRIEVER_SLACK

    def rankings(self, query: str, vector: np.ndarray, stored: dict[str, StoredPassage]) -> list[Ranking]:
        """The three rankings, best first: passage vectors, sentence vectors, BM25."""
        dense = dense_ranking(self._state, vector, self.depth, stored)
        sentences = sentence_ranking(self._state, vector, self.depth)
        lexical = self._state.bm25.search(query, self.depth)
        return [sorted(r, key=lambda hit: hit[1], reverse=True) for r in (dense, sentences, lexical)]

    def search(self, query: str) -> list[Passage]:
        """The top passages for `query`, each with its dense similarity and its sentences' cosines."""
        vector = self._state.embed_query(query)
        stored: dict[str, StoredPassage] = {}
        rankings = self.rankings(query, vector, stored)
        dense = dict(rankings[0])
        fused = reciprocal_rank_fusion([[pid for pid, _ in ranking] for ranking in rankings])
        fused = self._keep_exact_match(query, fused, rankings[2], stored)
        missing = [pid for pid, _ in fused if pid not in stored]
        stored.update((p[0], p) for p in self._state.passages_by_id(missing))
        passages = [
            to_passage(stored[pid], score, dense.get(pid, 0.0)) for pid, score in fused if pid in stored
        ]
        spans = {p.id: split_sentences(p.text, offset=p.start) for p in passages}
        ids = {p.id: sentence_ids(p.id, len(spans[p.id])) for p in passages}
        vectors = self._state.sentence_vectors([sid for group in ids.values() for sid in group])
        return [
            replace(p, sentence_scores=_sentence_scores(spans[p.id], ids[p.id], vectors, vector))
            for p in passages
        ]

    def _keep_exact_match(
        self,
        query: str,
        fused: list[tuple[str, float]],
        lexical: Ranking,
        stored: dict[str, StoredPassage],
    ) -> list[tuple[str, float]]:
        """The fused top_k, holding BM25's first hit when it holds exactly an identifier or number of the
        question (a token with a digit: "convoy 4321"): the dense rankings cannot tell 4321 from 4335, and
        fusion would otherwise push the one passage that names it out of the top (it takes the last place)."""
        top = fused[: self.top_k]
        identifiers = set(identifier_tokens(query))
        if not identifiers or not lexical or any(pid == lexical[0][0] for pid, _ in top):
            return top
        first = lexical[0][0]
        if first not in stored:
            stored.update((p[0], p) for p in self._state.passages_by_id([first]))
        if first not in stored or not identifiers & set(_words(stored[first][1])):
            return top
        score = next((score for pid, score in fused if pid == first), 0.0)
        return [*top[: self.top_k - 1], (first, score)]


def identifier_tokens(text: str) -> list[str]:
    """The identifiers and numbers of a text: its words holding a digit ("4321", "MINUSMA2", "b52"),
    lowercased."""
    return [word for word in _words(text) if any(c.isdigit() for c in word)]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _sentence_scores(
    spans: list[tuple[int, int]], ids: list[str], stored: dict[str, Any], vector: np.ndarray
) -> tuple[tuple[int, int, float], ...]:
    return tuple(
        (start, end, float(np.dot(vector, np.asarray(stored[sid], dtype=np.float32))))
        for sid, (start, end) in zip(ids, spans, strict=True)
        if sid in stored
    )


def to_passage(stored: StoredPassage, score: float, dense_score: float) -> Passage:
    pid, text, meta = stored
    return Passage(
        id=pid,
        article_id=str(meta.get("article_id", "")),
        title=str(meta.get("title", "")),
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        date=str(meta.get("date", "")),
        outlet=str(meta.get("outlet", "")),
        score=float(score),
        dense_score=dense_score,
    )
