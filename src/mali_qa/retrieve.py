"""Hybrid retrieval: dense (Chroma) and lexical (BM25) rankings fused by reciprocal rank fusion."""

from __future__ import annotations

from typing import Any

from llama_index.core import VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import NodeWithScore, QueryBundle

from .index import IndexState
from .types import Passage


class PositiveOnly(BaseRetriever):
    """Wraps a lexical retriever, dropping hits with no term in common with the query (score 0)."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self._inner = inner

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [n for n in self._inner.retrieve(query_bundle) if (n.score or 0.0) > 0.0]


class HybridRetriever(QueryFusionRetriever):
    """llama-index's QueryFusionRetriever in reciprocal-rank mode, one query, no LLM; it keeps each
    passage's dense cosine so that the answer step can weigh it."""

    def __init__(self, state: IndexState, top_k: int) -> None:
        depth = max(2 * top_k, 10)
        index = VectorStoreIndex.from_vector_store(state.vector_store, embed_model=state.embed_model)
        retrievers: list[BaseRetriever] = [index.as_retriever(similarity_top_k=depth)]
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
        self.last_dense: dict[str, float] = {}

    def search(self, query: str) -> list[Passage]:
        bundle = QueryBundle(query_str=query)
        results = self._run_sync_queries([bundle])
        dense = {n.node.node_id: float(n.score or 0.0) for n in results[(query, 0)]}
        fused = self._reciprocal_rerank_fusion(results)[: self.similarity_top_k]
        return [to_passage(n, dense.get(n.node.node_id, 0.0)) for n in fused]


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
