"""Hybrid retrieval: passage vectors (Chroma), sentence vectors and BM25 ranked separately, then fused by
reciprocal rank; each passage keeps its dense cosine and its sentences' cosines for the answer step."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from llama_index.core import VectorStoreIndex
from llama_index.core.schema import BaseNode, NodeWithScore, QueryBundle

from mali_qa.ingest.store import sentence_ids
from mali_qa.search.fusion import reciprocal_rank_fusion
from mali_qa.search.index import IndexState
from mali_qa.text import split_sentences
from mali_qa.types import Passage

#: Each ranking looks this many passages past top_k, so that fusion can promote what one of them ranks low.
RETRIEVER_SLACK = 14


def sentence_ranking(
    state: IndexState, vector: list[float], depth: int, known: dict[str, BaseNode]
) -> list[NodeWithScore]:
    """Dense retrieval at the sentence level: the passages holding the sentences nearest to the query (a
    long passage's vector blurs its one telling sentence). Passages in `known` are not fetched again."""
    hits = state.sentences.query(
        query_embeddings=[vector],
        n_results=min(depth * 2, max(state.n_sentences, 1)),
        include=["distances"],
    )
    best: dict[str, float] = {}
    for sid, distance in zip(hits["ids"][0], hits["distances"][0], strict=True):
        best.setdefault(sid.rsplit("/", 1)[0], 1.0 - float(distance))
    ids = list(best)[:depth]
    fetched = {n.node_id: n for n in state.passages_by_id([i for i in ids if i not in known])}
    nodes = [known.get(i) or fetched.get(i) for i in ids]
    return [NodeWithScore(node=node, score=best[node.node_id]) for node in nodes if node is not None]


class HybridRetriever:
    """Dense passage, dense sentence and BM25 rankings of one index, fused by reciprocal rank."""

    def __init__(self, state: IndexState, top_k: int) -> None:
        self._state = state
        self.top_k = top_k
        self.depth = top_k + RETRIEVER_SLACK
        index = VectorStoreIndex.from_vector_store(state.vector_store, embed_model=state.embed_model)
        self._dense = index.as_retriever(similarity_top_k=self.depth)

    def _lexical(self, query: str) -> list[NodeWithScore]:
        bm25 = self._state.bm25
        if bm25 is None:
            return []
        bm25.similarity_top_k = min(self.depth, max(self._state.n_passages, 1))
        return [n for n in bm25.retrieve(query) if (n.score or 0.0) > 0.0]  # no shared term: no hit

    def rankings(self, query: str, vector: list[float]) -> list[list[NodeWithScore]]:
        """The three rankings, best first: passage vectors, sentence vectors, BM25."""
        dense = self._dense.retrieve(QueryBundle(query_str=query, embedding=vector))
        known = {n.node.node_id: n.node for n in dense}
        sentences = sentence_ranking(self._state, vector, self.depth, known)
        return [dense, sentences, self._lexical(query)]

    def search(self, query: str) -> list[Passage]:
        """The top passages for `query`, each with its dense cosine and its sentences' cosines."""
        vector = np.asarray(self._state.embed_model.get_query_embedding(query), dtype=np.float32)
        rankings = [
            sorted(hits, key=lambda n: n.score or 0.0, reverse=True)
            for hits in self.rankings(query, vector.tolist())
        ]
        dense = {n.node.node_id: float(n.score or 0.0) for n in rankings[0]}
        node_of = {n.node.node_id: n.node for hits in rankings for n in hits}
        fused = reciprocal_rank_fusion([[n.node.node_id for n in hits] for hits in rankings])
        passages = [
            to_passage(node_of[pid], score, dense.get(pid, 0.0)) for pid, score in fused[: self.top_k]
        ]
        spans = {p.id: split_sentences(p.text, offset=p.start) for p in passages}
        ids = {p.id: sentence_ids(p.id, len(spans[p.id])) for p in passages}
        stored = self._state.sentence_vectors([sid for group in ids.values() for sid in group])
        return [
            replace(p, sentence_scores=_sentence_scores(spans[p.id], ids[p.id], stored, vector))
            for p in passages
        ]


def _sentence_scores(
    spans: list[tuple[int, int]], ids: list[str], stored: dict[str, Any], vector: np.ndarray
) -> tuple[tuple[int, int, float], ...]:
    return tuple(
        (start, end, float(np.dot(vector, np.asarray(stored[sid], dtype=np.float32))))
        for sid, (start, end) in zip(ids, spans, strict=True)
        if sid in stored
    )


def to_passage(node: BaseNode, score: float, dense_score: float) -> Passage:
    meta = node.metadata
    return Passage(
        id=node.node_id,
        article_id=str(meta.get("article_id", "")),
        title=str(meta.get("title", "")),
        text=node.get_content(),
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        date=str(meta.get("date", "")),
        outlet=str(meta.get("outlet", "")),
        score=float(score),
        dense_score=dense_score,
    )
