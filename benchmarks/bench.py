"""Benchmark: accuracy, latency, cold start, ingest speed and memory of mali-qa beside a plain LlamaIndex
pipeline on the same questions and the same embedding model; `--scaling` runs the synthetic-corpus study.

    .venv/bin/python benchmarks/bench.py [--gold FILE] [--repeats 3] [--no-memory]
    .venv/bin/python benchmarks/bench.py --scaling --sizes 5,500,5000 [--embedding stand-in]

Answers are scored by `mali_qa.eval.scoring.score_item`, the rule of `mali-qa eval`."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_scaling import EMBED_MODES, print_scaling, run_scaling
from harness import (
    FIRST_QUESTION,
    RESULTS_DIR,
    WARM_UP,
    child_env,
    default_gold,
    gold_items,
    run_python,
    settings_for,
    timed_runs,
)

from mali_qa.config import project_root
from mali_qa.errors import MaliQAError
from mali_qa.eval.gold import GoldItem
from mali_qa.eval.scoring import aggregate, missing_groups, ratio, score_item
from mali_qa.types import Answer

# ---------------------------------------------------------------- scoring (the rule of `mali-qa eval`)


def accuracy(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Answer and abstention accuracy of `score_item` results, with the counts behind them."""
    figures = aggregate(results)
    ans = [r["correct"] for r in results if r["type"] != "unanswerable"]
    una = [r["correct"] for r in results if r["type"] == "unanswerable"]
    return {
        "answer_accuracy": figures["answer_accuracy"],
        "answerable": f"{sum(ans)}/{len(ans)}",
        "abstention_accuracy": figures["abstention_accuracy"],
        "unanswerable": f"{sum(una)}/{len(una)}",
        "overall": ratio(sum(r["correct"] for r in results), len(results)),
    }


def sample(result: dict[str, Any]) -> dict[str, Any]:
    """What the benchmark file keeps of one scored answer."""
    return {
        "id": result["id"],
        "ok": result["correct"],
        "answered": result["answered"],
        "reason": result["reason"],
        "words": result["words"],
        "text": result["answer"][:300],
    }


# ---------------------------------------------------------------- the two systems


def run_maliqa(settings: Any, items: list[GoldItem], repeats: int) -> dict[str, Any]:
    from mali_qa.eval.command import run_items
    from mali_qa.service import ask

    ask(WARM_UP, settings=settings)
    results = run_items(items, ask, progress=False, settings=settings)

    def one(item: GoldItem) -> Any:
        return ask(item.question, history=item.history or None, settings=settings)

    return {
        **accuracy(results),
        **timed_runs(items, one, repeats),
        "answers": [sample(r) for r in results],
    }


class PlainPipeline:
    """The plain LlamaIndex baseline: VectorStoreIndex (SentenceSplitter defaults, in-memory vectors) with our
    MiniLM, no LLM, the top retrieved chunk as the answer; it never abstains and ignores the history."""

    def __init__(self, seeds: Path, top_k: int) -> None:
        from llama_index.core import Document, VectorStoreIndex
        from llama_index.core import Settings as LISettings

        from mali_qa.ingest.corpus import read_folder
        from mali_qa.store.embed import LocalMiniLMEmbedding

        LISettings.llm = None  # llama-index turns None into a MockLLM, never OpenAI
        self.embed_model = LocalMiniLMEmbedding()
        LISettings.embed_model = self.embed_model
        articles = read_folder(seeds).articles
        started = time.perf_counter()
        docs = [Document(id_=a.id, text=a.text, metadata={"title": a.title}) for a in articles]
        self.index = VectorStoreIndex.from_documents(docs, embed_model=self.embed_model)
        self.ingest_seconds = time.perf_counter() - started
        self.chunks = len(self.index.docstore.docs)
        self.retriever = self.index.as_retriever(similarity_top_k=top_k)

    def answer(self, question: str) -> str:
        hits = self.retriever.retrieve(question)
        return hits[0].node.get_content() if hits else ""


def run_plain(seeds: Path, items: list[GoldItem], repeats: int, top_k: int) -> dict[str, Any]:
    plain = PlainPipeline(seeds, top_k)
    plain.answer(WARM_UP)
    results, anywhere = [], []
    for item in items:
        t = time.perf_counter()
        text = plain.answer(item.question)
        results.append(score_item(item, Answer(text=text, answered=True), (time.perf_counter() - t) * 1000))
        anywhere.append(not missing_groups(item, text))  # the same groups, the length limit aside
    answerable = [ok for it, ok in zip(items, anywhere, strict=True) if it.answerable]
    return {
        **accuracy(results),
        "answer_accuracy_anywhere_in_chunk": ratio(sum(answerable), len(answerable)),
        "mean_answer_chars": round(statistics.fmean(len(r["answer"]) for r in results), 1),
        **timed_runs(items, lambda it: plain.answer(it.question), repeats),
        "chunks": plain.chunks,
        "ingest_seconds": round(plain.ingest_seconds, 3),
        "answers": [sample(r) for r in results],
    }


# ---------------------------------------------------------------- subprocess measurements


def first_answer_seconds(store: Path, seeds: Path, runs: int = 5) -> dict[str, Any]:
    """Import + load + first `ask` in a new process, on an already built index: wall time and peak memory
    as the OS counts them (`/usr/bin/time -v`, when the machine has it), and as the child times itself."""
    code = (
        "import time;t=time.perf_counter();from mali_qa import ask;"
        f"ask({FIRST_QUESTION!r});print(time.perf_counter()-t)"
    )
    timer = Path("/usr/bin/time")
    inside, wall, rss = [], [], []
    for _ in range(runs):
        command = [sys.executable, "-c", code]
        if timer.exists():
            command = [str(timer), "-v", *command]
        done = subprocess.run(
            command,
            env=child_env(store, seeds),
            capture_output=True,
            text=True,
            cwd=project_root(),
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"child failed ({done.returncode}): {done.stderr[-2000:]}")
        inside.append(float(done.stdout.strip().splitlines()[-1]))
        for line in done.stderr.splitlines():
            key, _, value = line.strip().rpartition(": ")
            if key.startswith("Elapsed (wall clock) time"):
                minutes, _, seconds = value.rpartition(":")
                wall.append(float(minutes or 0) * 60 + float(seconds))
            elif key == "Maximum resident set size (kbytes)":
                rss.append(int(value) / 1024)
    out: dict[str, Any] = {
        "runs": runs,
        "median_s": round(statistics.median(wall or inside), 3),
        "measured_by": "/usr/bin/time -v (whole process)" if wall else "the child's own clock",
        "runs_s": [round(v, 3) for v in (wall or inside)],
        "in_process_median_s": round(statistics.median(inside), 3),
    }
    if rss:
        out["peak_rss_mb_median"] = round(statistics.median(rss), 1)
    return out


_MEMORY_CHILD = """
import json, sys
from pathlib import Path
from harness import gold_items, peak_rss_mb, settings_for
store, seeds, gold, which = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
items = gold_items(gold)
if which == "mali-qa":
    from mali_qa.ingest.write import ingest
    from mali_qa.service import ask
    settings = settings_for(store, seeds)
    ingest(settings)
    for it in items:
        ask(it.question, history=it.history or None, settings=settings)
else:
    from bench import PlainPipeline
    plain = PlainPipeline(seeds, 8)
    for it in items:
        plain.answer(it.question)
print(json.dumps({"max_rss_mb": peak_rss_mb()}))
"""


def peak_memory_mb(seeds: Path, gold: Path, which: str) -> float:
    with tempfile.TemporaryDirectory(prefix="mali-qa-mem-") as tmp:
        store = Path(tmp) / "vs"
        env = child_env(store, seeds)
        line = run_python(_MEMORY_CHILD, env, str(store), str(seeds), str(gold), which, timeout=1800)
        return round(float(json.loads(line)["max_rss_mb"]), 1)


def ingest_throughput(seeds: Path, runs: int = 2) -> dict[str, Any]:
    """Ingest the seeds into fresh temp indexes in this process (model already loaded after the first run)."""
    from mali_qa.ingest.write import ingest
    from mali_qa.store.embed import get_embed_model

    out = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="mali-qa-ingest-") as tmp:
            settings = settings_for(Path(tmp) / "vs", seeds)
            get_embed_model(settings).get_text_embedding("warm")
            c = time.process_time()
            report = ingest(settings)
            cpu = time.process_time() - c
            out.append(
                {"passages": report.passages, "seconds": round(report.seconds, 3), "cpu_s": round(cpu, 3)}
            )
    best = min(out, key=lambda r: r["seconds"])
    return {
        "runs": out,
        "passages_per_s": round(best["passages"] / best["seconds"], 1),
        "passages_per_cpu_s": round(best["passages"] / best["cpu_s"], 1),
    }


def embed_throughput(seeds: Path, n: int = 256) -> dict[str, Any]:
    """Raw embedding speed of our MiniLM on passage-sized texts, batches of 32 (the ingest bottleneck)."""
    from mali_qa.ingest.chunk import pack_sentences
    from mali_qa.ingest.corpus import read_folder
    from mali_qa.store.embed import LocalMiniLMEmbedding

    texts = [a.text[s:e] for a in read_folder(seeds).articles for s, e in pack_sentences(a.text)]
    texts = (texts * (n // max(len(texts), 1) + 1))[:n]
    model = LocalMiniLMEmbedding()
    model.get_text_embedding("warm")
    t, c = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), 32):
        model.get_text_embedding_batch(texts[i : i + 32])
    seconds, cpu_seconds = time.perf_counter() - t, time.process_time() - c
    for i in range(5):
        model.get_query_embedding(f"question number {i} about Mali?")
    t, c = time.perf_counter(), time.process_time()
    for i in range(20):
        model.get_query_embedding(f"When did France leave Mali, question {i}?")
    query_ms, query_cpu_ms = (time.perf_counter() - t) / 20 * 1000, (time.process_time() - c) / 20 * 1000
    return {
        "texts": len(texts),
        "passages_per_s": round(len(texts) / seconds, 1),
        "passages_per_cpu_s": round(len(texts) / cpu_seconds, 1),
        "query_embed_ms": round(query_ms, 2),
        "query_embed_cpu_ms": round(query_cpu_ms, 2),
        "threads": os.environ.get("MALI_QA_EMBED_THREADS", "1"),
    }


# ---------------------------------------------------------------- the side-by-side benchmark


def run_bench(
    gold: Path, out: Path, repeats: int = 3, memory: bool = True, cold_runs: int = 5
) -> dict[str, Any]:
    from mali_qa.ingest.write import ingest
    from mali_qa.service import reset

    seeds = project_root() / "seeds"
    items = gold_items(gold)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "gold": str(gold),
        "questions": len(items),
        "scoring": "mali_qa.eval.scoring.score_item: answered, every must_include group anywhere in the "
        "text, at most 100 words (unanswerable: abstained)",
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "note": "timings on a shared 2-core machine (other jobs running): compare the ratios",
    }
    with tempfile.TemporaryDirectory(prefix="mali-qa-bench-") as tmp:
        store = Path(tmp) / "vs"
        settings = settings_for(store, seeds)
        report = ingest(settings)
        result["index"] = {
            "passages": report.passages,
            "articles": report.articles,
            "cold_ingest_s": report.seconds,
        }
        print(f"index: {report.summary()}", file=sys.stderr)
        mq = run_maliqa(settings, items, repeats)
        print(f"mali-qa: {mq['answerable']} answerable, p50 {mq['p50_ms']} ms", file=sys.stderr)
        plain = run_plain(seeds, items, repeats, top_k=settings.top_k)
        print(f"plain: {plain['answerable']} answerable, p50 {plain['p50_ms']} ms", file=sys.stderr)
        result["mali_qa"], result["plain_llamaindex"] = mq, plain
        reset()
        result["first_answer_new_process"] = first_answer_seconds(store, seeds, cold_runs)
        print(f"first answer: {result['first_answer_new_process']}", file=sys.stderr)
    result["ingest"] = ingest_throughput(seeds)
    result["embedding"] = embed_throughput(seeds)
    print(f"ingest: {result['ingest']}; embedding: {result['embedding']}", file=sys.stderr)
    if memory:
        result["peak_memory_mb"] = {
            "mali_qa_ingest_and_questions": peak_memory_mb(seeds, gold, "mali-qa"),
            "plain_llamaindex_index_and_questions": peak_memory_mb(seeds, gold, "plain"),
        }
    result["ratios"] = ratios(result)
    result["seconds"] = round(time.perf_counter() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


def _over(a: float | None, b: float | None, digits: int = 2) -> float | None:
    return round(a / b, digits) if a is not None and b else None


def _minus(a: float | None, b: float | None) -> float | None:
    return round(a - b, 4) if a is not None and b is not None else None


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    mq, plain = result["mali_qa"], result["plain_llamaindex"]
    out = {
        "warm_p50_mali_qa_over_plain": _over(mq["p50_ms"], plain["p50_ms"]),
        "warm_p95_mali_qa_over_plain": _over(mq["p95_ms"], plain["p95_ms"]),
        "warm_cpu_p50_mali_qa_over_plain": _over(mq["cpu_p50_ms"], plain["cpu_p50_ms"]),
        "answer_accuracy_mali_qa_minus_plain": _minus(mq["answer_accuracy"], plain["answer_accuracy"]),
        "overall_accuracy_mali_qa_minus_plain": _minus(mq["overall"], plain["overall"]),
        "ingest_over_bare_embedder": _over(
            result["ingest"]["passages_per_s"], result["embedding"]["passages_per_s"]
        ),
    }
    mem = result.get("peak_memory_mb")
    if mem:
        out["peak_memory_mali_qa_over_plain"] = _over(
            mem["mali_qa_ingest_and_questions"], mem["plain_llamaindex_index_and_questions"]
        )
    return out


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def print_summary(result: dict[str, Any]) -> None:
    mq, plain, r = result["mali_qa"], result["plain_llamaindex"], result["ratios"]
    rows = [
        (
            "answer accuracy",
            f"{mq['answerable']} ({_pct(mq['answer_accuracy'])})",
            f"{plain['answerable']} ({_pct(plain['answer_accuracy'])})",
        ),
        ("abstention", f"{mq['unanswerable']}", f"{plain['unanswerable']} (never abstains)"),
        ("warm p50 ms", f"{mq['p50_ms']}", f"{plain['p50_ms']}"),
        ("warm p95 ms", f"{mq['p95_ms']}", f"{plain['p95_ms']}"),
    ]
    mem = result.get("peak_memory_mb")
    if mem:
        rows.append(
            (
                "peak RSS MB",
                f"{mem['mali_qa_ingest_and_questions']}",
                f"{mem['plain_llamaindex_index_and_questions']}",
            )
        )
    print(f"{'':18}{'mali-qa':>22}{'plain llama-index':>28}")
    for name, a, b in rows:
        print(f"{name:18}{a:>22}{b:>28}")
    print(f"first answer in a new process: {result['first_answer_new_process']['median_s']} s (median)")
    print(
        f"ingest: {result['ingest']['passages_per_s']} passages/s; raw embedding "
        f"{result['embedding']['passages_per_s']} passages/s, "
        f"query {result['embedding']['query_embed_ms']} ms"
    )
    print("ratios: " + ", ".join(f"{k} = {v}" for k, v in r.items()))


# ---------------------------------------------------------------- the command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmarks/bench.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--gold", type=Path, default=None, help="gold JSONL (default: the shared dev set)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default benchmarks/results)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the questions (default 3)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument(
        "--scaling", action="store_true", help="run the synthetic-corpus scaling study instead"
    )
    parser.add_argument("--sizes", default="5,500,5000", help="scaling: comma-separated article counts")
    parser.add_argument(
        "--work", type=Path, default=None, help="scaling: folder for corpora and indexes (temp)"
    )
    parser.add_argument(
        "--embedding", choices=EMBED_MODES, default="minilm", help="scaling: ingest embedding"
    )
    parser.add_argument(
        "--batch-articles",
        type=int,
        default=0,
        help="scaling: override mali_qa.ingest.write.BATCH_ARTICLES",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except MaliQAError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    gold = args.gold or default_gold()
    out_dir = args.out or RESULTS_DIR
    if args.scaling:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        work = args.work or Path(tempfile.mkdtemp(prefix="mali-qa-scaling-"))
        data = run_scaling(
            sizes,
            work,
            out_dir / "scaling.json",
            gold,
            mode=args.embedding,
            batch_articles=args.batch_articles,
        )
        print_scaling(data)
        return 0
    result = run_bench(gold, out_dir / "bench.json", repeats=args.repeats, memory=not args.no_memory)
    print_summary(result)
    print(f"wrote {out_dir / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
