"""Where a warm `ask` spends its time, component by component, each timed alone (median over the gold
questions): the query embedding, each vector look-up (in memory, and through Chroma), BM25, the three
rankings, the fusion, the extractive answer, and the whole `ask`. Writes benchmarks/results/components.json.

    .venv/bin/python benchmarks/components.py [--store DIR]   # default: a temp index of the seeds
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

RESULTS = Path(__file__).resolve().parent / "results"


def median_ms(fn: Callable[[str], Any], questions: list[str], repeats: int) -> dict[str, float]:
    wall, cpu = [], []
    for _ in range(repeats):
        for q in questions:
            t, c = time.perf_counter(), time.process_time()
            fn(q)
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    return {"wall_ms": round(statistics.median(wall), 3), "cpu_ms": round(statistics.median(cpu), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None, help="an already built vectorstore folder")
    parser.add_argument("--seeds", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "components.json")
    args = parser.parse_args()

    from harness import default_gold, gold_items, settings_for

    from mali_qa.answer.condense import condense
    from mali_qa.config import project_root
    from mali_qa.ingest.write import ingest
    from mali_qa.search.fusion import reciprocal_rank_fusion
    from mali_qa.search.retrieve import HybridRetriever, dense_ranking, sentence_ranking
    from mali_qa.search.vectors import ChromaSearch
    from mali_qa.service import ask, pipeline_for

    seeds = args.seeds or project_root() / "seeds"
    store = args.store or Path(tempfile.mkdtemp(prefix="mali-qa-components-")) / "vs"
    settings = settings_for(store, seeds)
    if args.store is None:
        ingest(settings)
    questions = [it.question for it in gold_items(default_gold()) if not it.history]
    ask("warm up: what is this about?", settings=settings)
    pipe = pipeline_for(settings)
    state = pipe.state
    top_k = settings.top_k
    retriever = HybridRetriever(state, top_k)
    depth = retriever.depth
    vectors = {q: state.embed_query(q) for q in questions}
    rows: dict[str, Any] = {}
    rows["ask (whole, warm)"] = median_ms(lambda q: ask(q, settings=settings), questions, args.repeats)
    rows["condense (typo repair, follow-up)"] = median_ms(
        lambda q: pipe.standalone(q, []), questions, args.repeats
    )
    rows["query embedding (MiniLM through onnxruntime)"] = median_ms(
        state.embed_query, questions, args.repeats
    )
    where = type(state.search).__name__
    rows[f"dense passages ({where})"] = median_ms(
        lambda q: dense_ranking(state, vectors[q], depth, {}), questions, args.repeats
    )
    rows[f"sentences ({where})"] = median_ms(
        lambda q: sentence_ranking(state, vectors[q], depth), questions, args.repeats
    )
    chroma = ChromaSearch(
        state.collection, state.sentences, state.n_passages, state.n_sentences, set(state.bm25.ids)
    )
    rows["dense passages: Chroma query (past MALI_QA_MEMORY_VECTORS)"] = median_ms(
        lambda q: chroma.nearest_passages(vectors[q], depth), questions, args.repeats
    )
    rows["sentences: Chroma query (past MALI_QA_MEMORY_VECTORS)"] = median_ms(
        lambda q: chroma.nearest_sentences(vectors[q], depth * 2), questions, args.repeats
    )
    rows["bm25: bm25s tokenize + retrieve (memory-mapped)"] = median_ms(
        lambda q: state.bm25.search(q, depth), questions, args.repeats
    )
    rows["rankings: HybridRetriever.rankings (dense, sentences, bm25)"] = median_ms(
        lambda q: retriever.rankings(q, vectors[q], {}), questions, args.repeats
    )
    ranked = {q: [[pid for pid, _ in r] for r in retriever.rankings(q, vectors[q], {})] for q in questions}
    rows["fusion: reciprocal_rank_fusion of the three rankings"] = median_ms(
        lambda q: reciprocal_rank_fusion(ranked[q]), questions, args.repeats
    )
    rows["retrieve: HybridRetriever.search (all of retrieval)"] = median_ms(
        lambda q: pipe.retrieve(q, top_k), questions, args.repeats
    )
    passages = {q: pipe.retrieve(q, top_k) for q in questions}
    rows["answer: the offline engine (features, ranking, decision)"] = median_ms(
        lambda q: pipe.offline.answer(condense(q, []), passages[q]), questions, args.repeats
    )
    result = {
        "store": str(store),
        "passages": state.collection.count(),
        "sentences": state.sentences.count(),
        "note": "each component timed alone, median over the gold questions; wall time on a shared 2-core machine",
        "components": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    width = max(len(k) for k in rows)
    for name, row in rows.items():
        print(f"{name:<{width}}  {row['wall_ms']:>8.2f} ms wall  {row['cpu_ms']:>8.2f} ms cpu")


if __name__ == "__main__":
    main()
