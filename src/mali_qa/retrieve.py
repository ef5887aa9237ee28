"""Hybrid retrieval: dense (Chroma) and lexical (BM25) rankings fused by reciprocal rank fusion."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from llama_index.core import VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import BaseNode, NodeWithScore, QueryBundle

from .index import IndexState, sentence_ids
from .text import split_sentences
from .types import Passage

#: Each ranking looks this many passages past top_k, so that fusion can promote what one of them ranks low.
RETRIEVER_SLACK = 14


class PositiveOnly(BaseRetriever):
    """Wraps a lexical retriever, dropping hits with no term in common with the query (score 0)."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self._inner = inner

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [n for n in self._inner.retrieve(query_bundle) if (n.score or 0.0) > 0.0]


class SentenceRetriever(BaseRetriever):
    """Dense retrieval at the sentence level: the passages holding the sentences nearest to the query.
    A long passage's vector blurs its one telling sentence; this finds it."""

    def __init__(self, state: IndexState, depth: int) -> None:
        super().__init__()
        self._state = state
        self._depth = depth
        #: passages the dense ranking already brought, by id: not fetched again
        self.known: dict[str, BaseNode] = {}

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        vector = query_bundle.embedding or self._state.embed_model.get_query_embedding(query_bundle.query_str)
        hits = self._state.sentences.query(
            query_embeddings=[vector],
            n_results=min(self._depth * 2, max(self._state.n_sentences, 1)),
            include=["distances"],
        )
        best: dict[str, float] = {}
        for sid, distance in zip(hits["ids"][0], hits["distances"][0], strict=True):
            passage_id = sid.rsplit("/", 1)[0]
            best.setdefault(passage_id, 1.0 - float(distance))
        ids = list(best)[: self._depth]
        fetched = {n.node_id: n for n in self._state.passages_by_id([i for i in ids if i not in self.known])}
        nodes = [self.known.get(i) or fetched.get(i) for i in ids]
        return [NodeWithScore(node=node, score=best[node.node_id]) for node in nodes if node is not None]


class HybridRetriever(QueryFusionRetriever):
    """llama-index's QueryFusionRetriever in reciprocal-rank mode, one query, no LLM; it keeps each
    passage's dense cosine so that the answer step can weigh it."""

    def __init__(self, state: IndexState, top_k: int) -> None:
        depth = top_k + RETRIEVER_SLACK
        index = VectorStoreIndex.from_vector_store(state.vector_store, embed_model=state.embed_model)
        self._sentences = SentenceRetriever(state, depth)
        retrievers: list[BaseRetriever] = [index.as_retriever(similarity_top_k=depth), self._sentences]
        if state.bm25 is not None:
            state.bm25.similarity_top_k = min(depth, max(state.n_passages, 1))
            retrievers.append(PositiveOnly(state.bm25))
        super().__init__(
            retrievers,
            llm=MockLLM(),
            mode=FUSION_MODES.RECIPROCAL_RANK,
            similarity_top_k=top_k,
            num_queries=1,
            use_async=False,
        )
        self._state = state

    def _run_sync_queries(self, queries: list[QueryBundle]) -> dict[tuple[str, int], list[NodeWithScore]]:
        """Each ranking in turn, the sentence ranking reusing the passages the dense one brought."""
        results: dict[tuple[str, int], list[NodeWithScore]] = {}
        for query in queries:
            for i, retriever in enumerate(self._retrievers):
                results[(query.query_str, i)] = hits = retriever.retrieve(query)
                if i == 0:
                    self._sentences.known = {n.node.node_id: n.node for n in hits}
        return results

    def search(self, query: str) -> list[Passage]:
        """The top passages for `query`, each with its dense cosine and its sentences' cosines."""
        vector = np.asarray(self._state.embed_model.get_query_embedding(query), dtype=np.float32)
        bundle = QueryBundle(query_str=query, embedding=vector.tolist())
        results = self._run_sync_queries([bundle])
        dense = {n.node.node_id: float(n.score or 0.0) for n in results[(query, 0)]}
        fused = self._reciprocal_rerank_fusion(results)[: self.similarity_top_k]
        passages = [to_passage(n, dense.get(n.node.node_id, 0.0)) for n in fused]
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


def to_passage(hit: NodeWithScore, dense_score: float) -> Passage:
    meta = hit.node.metadata
    return Passage(
        id=hit.node.node_id,
        article_id=str(meta.get("article_id", "")),
        title=str(meta.get("title", "")),
        text=hit.node.get_content(),
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        date=str(meta.get("date", "")),
        outlet=str(meta.get("outlet", "")),
        score=float(hit.score or 0.0),
        dense_score=dense_score,
    )
