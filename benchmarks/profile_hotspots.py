"""Profile warm `ask` calls and an ingest with pyinstrument; writes benchmarks/results/profile_*.txt and a
breakdown of where a warm ask spends its time (shares by component).

    .venv/bin/pip install pyinstrument
    .venv/bin/python benchmarks/profile_hotspots.py [--articles 200] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

RESULTS = Path(__file__).resolve().parent / "results"

#: Frames (file path fragments, function name) that name a component; the first match from the leaf wins.
COMPONENTS: list[tuple[str, str, str]] = [
    ("embedding (onnxruntime + tokenizer)", "mali_qa/store/", "embed"),
    ("chroma query", "chromadb/", ""),
    ("bm25", "bm25s/", ""),
    ("bm25", "retrievers/bm25", ""),
    ("answer engine (extractive)", "mali_qa/answer/extractive.py", ""),
    ("condense", "mali_qa/answer/condense.py", ""),
    ("mali_qa retrieve glue", "mali_qa/search/", ""),
    ("llama-index core", "llama_index/core", ""),
    ("llama-index instrumentation", "llama_index_instrumentation", ""),
]


def component_shares(session: Any) -> dict[str, float]:
    """Self time of every frame attributed to the innermost component on its stack, as % of the total."""
    root = session.root_frame()
    total = root.time if root else 0.0
    shares: dict[str, float] = {}

    def walk(frame: Any, current: str) -> None:
        path = (frame.file_path or "").replace("\\", "/")
        for name, fragment, func in COMPONENTS:
            if fragment in path and (not func or frame.function == func):
                current = name
                break
        children_time = sum(c.time for c in frame.children)
        own = max(frame.time - children_time, 0.0)
        shares[current] = shares.get(current, 0.0) + own
        for child in frame.children:
            walk(child, current)

    if root:
        walk(root, "other (service, validation, python)")
    return {k: round(100 * v / total, 1) for k, v in sorted(shares.items(), key=lambda kv: -kv[1]) if total}


def profile_ask(store: Path, seeds: Path, passes: int) -> dict[str, Any]:
    from harness import WARM_UP, default_gold, gold_items, settings_for
    from pyinstrument import Profiler

    from mali_qa.ingest.write import ingest
    from mali_qa.service import ask

    settings = settings_for(store, seeds)
    ingest(settings)
    items = gold_items(default_gold())
    ask(WARM_UP, settings=settings)
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    profiler.start()
    for _ in range(passes):
        for it in items:
            ask(it.question, history=it.history or None, settings=settings)
    profiler.stop()
    seconds = time.perf_counter() - started
    (RESULTS / "profile_ask.txt").write_text(
        profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8"
    )
    return {
        "calls": passes * len(items),
        "mean_ms_under_profiler": round(1000 * seconds / (passes * len(items)), 2),
        "shares_pct": component_shares(profiler.last_session),
    }


def profile_ingest(work: Path, articles: int) -> dict[str, Any]:
    from bench_scaling import make_corpus
    from harness import settings_for
    from pyinstrument import Profiler

    from mali_qa.config import project_root
    from mali_qa.ingest.write import ingest
    from mali_qa.store.embed import get_embed_model

    corpus = work / f"corpus_{articles}"
    make_corpus(project_root() / "seeds", articles, corpus)
    settings = settings_for(work / "vs_ingest", corpus)
    get_embed_model(settings).get_text_embedding("warm")
    profiler = Profiler(interval=0.002)
    profiler.start()
    report = ingest(settings)
    profiler.stop()
    (RESULTS / "profile_ingest.txt").write_text(
        profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8"
    )
    return {
        "articles": articles,
        "passages": report.passages,
        "seconds": round(report.seconds, 2),
        "passages_per_s": round(report.passages / report.seconds, 1),
        "shares_pct": component_shares(profiler.last_session),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200, help="synthetic articles for the ingest profile")
    parser.add_argument("--passes", type=int, default=3, help="passes over the gold questions")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    from mali_qa.config import project_root

    RESULTS.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="mali-qa-profile-"))
    result = {
        "ask": profile_ask(work / "vs_seeds", project_root() / "seeds", args.passes),
        "ingest": profile_ingest(work, args.articles),
    }
    (RESULTS / "profile.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
