"""`mali-qa bench`: accuracy, latency, cold start, ingest speed and memory of mali-qa beside a plain
LlamaIndex pipeline on the same questions and the same embedding model; `--scaling` adds synthetic corpora."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .config import project_root

MAX_WORDS = 100
RESULTS_DIR = Path("benchmarks") / "results"
SCALING_SIZES = (5, 500, 5000, 50000)
SYNTHETIC_SEED = 20261121
FIRST_QUESTION = "When did France leave Mali?"


# ---------------------------------------------------------------- gold set and scoring (as score_gold.py)


def default_gold() -> Path:
    shared = project_root().parent / "shared" / "eval" / "gold_dev.jsonl"
    return shared if shared.exists() else project_root() / "eval" / "gold.jsonl"


def load_gold(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


def first_words(text: str, n: int = MAX_WORDS) -> str:
    return " ".join(re.sub(r"\[\d+\]", " ", text).split()[:n])


def passes(item: dict[str, Any], answered: bool, text: str) -> bool:
    """Answerable: answered, every must_include group within the first 100 words; unanswerable: abstained."""
    if item["type"] == "unanswerable":
        return not answered
    head = norm(first_words(text))
    return answered and all(any(alt.lower() in head for alt in group) for group in item["must_include"])


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = q * (len(ordered) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_summary(ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(percentile(ms, 0.95), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "n": len(ms),
    }


def accuracy(items: list[dict[str, Any]], outcomes: list[bool]) -> dict[str, Any]:
    ans = [ok for it, ok in zip(items, outcomes, strict=True) if it["type"] != "unanswerable"]
    una = [ok for it, ok in zip(items, outcomes, strict=True) if it["type"] == "unanswerable"]
    return {
        "answer_accuracy": round(sum(ans) / max(len(ans), 1), 4),
        "answerable": f"{sum(ans)}/{len(ans)}",
        "abstention_accuracy": round(sum(una) / max(len(una), 1), 4),
        "unanswerable": f"{sum(una)}/{len(una)}",
        "overall": round(sum(outcomes) / max(len(outcomes), 1), 4),
    }


def timed_runs(
    items: list[dict[str, Any]], run: Callable[[dict[str, Any]], Any], repeats: int
) -> dict[str, float]:
    """Wall-clock latency percentiles, and the median CPU time of this process per call (robust to load)."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeats):
        for item in items:
            t, c = time.perf_counter(), time.process_time()
            run(item)
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    return {**latency_summary(wall), "cpu_p50_ms": round(statistics.median(cpu), 2)}


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM (reset by exec), not ru_maxrss, which on Linux keeps the
    high-water mark of the parent that forked it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ---------------------------------------------------------------- the two systems


def settings_for(store: Path, seeds: Path, **extra: Any) -> Any:
    from .config import Settings

    return Settings.from_env(
        env_file=os.devnull, vectorstore_dir=store, seeds_dir=seeds, engine="offline", **extra
    )


def run_maliqa(settings: Any, items: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    from .api import ask

    ask("warm up: what is this about?", settings=settings)
    outcomes, samples = [], []
    for item in items:
        answer = ask(item["question"], history=item.get("history") or None, settings=settings)
        outcomes.append(passes(item, answer.answered, answer.text))
        samples.append(
            {"id": item["id"], "ok": outcomes[-1], "answered": answer.answered, "text": answer.text[:300]}
        )

    def one(item: dict[str, Any]) -> Any:
        return ask(item["question"], history=item.get("history") or None, settings=settings)

    return {
        **accuracy(items, outcomes),
        **timed_runs(items, one, repeats),
        "answers": samples,
    }


class PlainPipeline:
    """The plain LlamaIndex baseline: VectorStoreIndex (SentenceSplitter defaults, in-memory vectors) with our
    MiniLM, no LLM, the top retrieved chunk as the answer; it never abstains and ignores the history."""

    def __init__(self, seeds: Path, top_k: int) -> None:
        from llama_index.core import Document, VectorStoreIndex
        from llama_index.core import Settings as LISettings

        from .corpus import read_folder
        from .embed import LocalMiniLMEmbedding

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


def run_plain(seeds: Path, items: list[dict[str, Any]], repeats: int, top_k: int) -> dict[str, Any]:
    plain = PlainPipeline(seeds, top_k)
    plain.answer("warm up: what is this about?")
    outcomes, lenient, samples = [], [], []
    for item in items:
        text = plain.answer(item["question"])
        outcomes.append(passes(item, True, text))
        whole = norm(text)
        lenient.append(
            item["type"] != "unanswerable"
            and all(any(a.lower() in whole for a in g) for g in item["must_include"])
        )
        samples.append({"id": item["id"], "ok": outcomes[-1], "chars": len(text), "text": text[:300]})
    answerable = [ok for it, ok in zip(items, lenient, strict=True) if it["type"] != "unanswerable"]
    return {
        **accuracy(items, outcomes),
        "answer_accuracy_anywhere_in_chunk": round(sum(answerable) / max(len(answerable), 1), 4),
        "mean_answer_chars": round(statistics.fmean(s["chars"] for s in samples), 1),
        **timed_runs(items, lambda it: plain.answer(it["question"]), repeats),
        "chunks": plain.chunks,
        "ingest_seconds": round(plain.ingest_seconds, 3),
        "answers": samples,
    }


# ---------------------------------------------------------------- subprocess measurements


def _child_env(store: Path, seeds: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST")
    }
    env.update(
        MALI_QA_VECTORSTORE_DIR=str(store),
        MALI_QA_SEEDS_DIR=str(seeds),
        MALI_QA_ENGINE="offline",
        ANONYMIZED_TELEMETRY="False",
        HF_HUB_OFFLINE="1",
    )
    return env


def _python(code: str, env: dict[str, str], *args: str, timeout: float | None = 3600) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=project_root(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def first_answer_seconds(store: Path, seeds: Path, runs: int = 3) -> dict[str, Any]:
    """Import + load + first `ask` in a new process, on an already built index (the brief's one-liner)."""
    code = (
        "import time;t=time.perf_counter();from mali_qa import ask;"
        f"ask({FIRST_QUESTION!r});print(time.perf_counter()-t)"
    )
    values = [float(_python(code, _child_env(store, seeds))) for _ in range(runs)]
    return {"median_s": round(statistics.median(values), 3), "runs_s": [round(v, 3) for v in values]}


_MEMORY_CHILD = """
import json, sys
from mali_qa.bench import load_gold, settings_for
from pathlib import Path
store, seeds, gold, which = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
items = load_gold(gold)
if which == "mali-qa":
    from mali_qa import ask
    from mali_qa.index import ingest
    settings = settings_for(store, seeds)
    ingest(settings)
    for it in items:
        ask(it["question"], history=it.get("history") or None, settings=settings)
else:
    from mali_qa.bench import PlainPipeline
    plain = PlainPipeline(seeds, 8)
    for it in items:
        plain.answer(it["question"])
from mali_qa.bench import peak_rss_mb
print(json.dumps({"max_rss_mb": peak_rss_mb()}))
"""


def peak_memory_mb(seeds: Path, gold: Path, which: str) -> float:
    with tempfile.TemporaryDirectory(prefix="mali-qa-mem-") as tmp:
        env = _child_env(Path(tmp) / "vs", seeds)
        done = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, str(Path(tmp) / "vs"), str(seeds), str(gold), which],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            cwd=project_root(),
        )
        if done.returncode != 0:
            raise RuntimeError(f"memory child failed: {done.stderr[-2000:]}")
        return round(float(json.loads(done.stdout.strip().splitlines()[-1])["max_rss_mb"]), 1)


def ingest_throughput(seeds: Path, runs: int = 2) -> dict[str, Any]:
    """Ingest the seeds into fresh temp indexes in this process (model already loaded after the first run)."""
    from .embed import get_embed_model
    from .index import ingest

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
    from .chunk import pack_sentences
    from .corpus import read_folder
    from .embed import LocalMiniLMEmbedding

    texts = [a.text[s:e] for a in read_folder(seeds).articles for s, e in pack_sentences(a.text)]
    texts = (texts * (n // max(len(texts), 1) + 1))[:n]
    model = LocalMiniLMEmbedding()
    model.get_text_embedding("warm")
    t, c = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), 32):
        model.get_text_embedding_batch(texts[i : i + 32])
    seconds, cpu_seconds = time.perf_counter() - t, time.process_time() - c
    q = [model.get_query_embedding(f"question number {i} about Mali?") for i in range(5)]
    t, c = time.perf_counter(), time.process_time()
    for i in range(20):
        model.get_query_embedding(f"When did France leave Mali, question {i}?")
    query_ms, query_cpu_ms = (time.perf_counter() - t) / 20 * 1000, (time.process_time() - c) / 20 * 1000
    del q
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
    gold: Path, out: Path, repeats: int = 3, memory: bool = True, cold_runs: int = 3
) -> dict[str, Any]:
    from .api import reset
    from .index import ingest

    seeds = project_root() / "seeds"
    items = load_gold(gold)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "gold": str(gold),
        "questions": len(items),
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


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    mq, plain = result["mali_qa"], result["plain_llamaindex"]
    out = {
        "warm_p50_mali_qa_over_plain": round(mq["p50_ms"] / plain["p50_ms"], 2),
        "warm_p95_mali_qa_over_plain": round(mq["p95_ms"] / plain["p95_ms"], 2),
        "warm_cpu_p50_mali_qa_over_plain": round(mq["cpu_p50_ms"] / plain["cpu_p50_ms"], 2),
        "answer_accuracy_mali_qa_minus_plain": round(mq["answer_accuracy"] - plain["answer_accuracy"], 4),
        "overall_accuracy_mali_qa_minus_plain": round(mq["overall"] - plain["overall"], 4),
    }
    mem = result.get("peak_memory_mb")
    if mem:
        out["peak_memory_mali_qa_over_plain"] = round(
            mem["mali_qa_ingest_and_questions"] / mem["plain_llamaindex_index_and_questions"], 2
        )
    return out


def print_summary(result: dict[str, Any]) -> None:
    mq, plain, r = result["mali_qa"], result["plain_llamaindex"], result["ratios"]
    rows = [
        (
            "answer accuracy",
            f"{mq['answerable']} ({mq['answer_accuracy']:.0%})",
            f"{plain['answerable']} ({plain['answer_accuracy']:.0%})",
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


# ---------------------------------------------------------------- scaling on synthetic corpora


def seed_sentences(seeds: Path) -> list[tuple[str, str]]:
    """(title, sentence) for every sentence of the seed articles of at least five words."""
    from .corpus import read_folder
    from .text import split_sentences

    out = []
    for article in read_folder(seeds).articles:
        for s, e in split_sentences(article.text):
            sentence = article.text[s:e]
            if len(sentence.split()) >= 5:
                out.append((article.title, sentence))
    return out


def make_corpus(seeds: Path, n: int, folder: Path, seed: int = SYNTHETIC_SEED) -> int:
    """`n` synthetic .txt articles of 3-6 seed sentences each, reproducible, unique ids and texts."""
    rng = random.Random(seed)
    pool = seed_sentences(seeds)
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[tuple[int, ...]] = set()
    for i in range(n):
        while True:
            picks = tuple(rng.sample(range(len(pool)), rng.randint(3, 6)))
            if picks not in seen:
                seen.add(picks)
                break
        title = f"{pool[picks[0]][0]} (synthetic {i})"
        cut = rng.randint(1, len(picks) - 1)
        paragraphs = [" ".join(pool[j][1] for j in picks[:cut]), " ".join(pool[j][1] for j in picks[cut:])]
        (folder / f"syn_{i:06d}.txt").write_text(
            title + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8"
        )
    return n


_LOAD_CHILD = (
    "import sys, time, json; t0 = time.perf_counter(); from mali_qa.bench import cold_load; "
    "print(json.dumps(cold_load(sys.argv[1], t0)))"
)


def cold_load(store: str, t0: float) -> dict[str, Any]:
    """In a fresh process: how long each part of a built index takes to open, and whether BM25 is rebuilt."""
    from llama_index.core.storage.docstore import SimpleDocumentStore
    from llama_index.retrievers.bm25 import BM25Retriever

    from .api import ask
    from .index import IndexPaths, chroma_client, load_index

    built: list[int] = []
    original = BM25Retriever.from_defaults

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return original(*args, **kwargs)

    BM25Retriever.from_defaults = counting  # type: ignore[method-assign]
    t_import = time.perf_counter() - t0
    settings = settings_for(Path(store), project_root() / "seeds")
    paths = IndexPaths(Path(store))
    times: dict[str, Any] = {"import_s": t_import}
    t = time.perf_counter()
    passages = chroma_client(settings).get_collection(settings.collection).count()
    times["chroma_open_s"] = time.perf_counter() - t
    t = time.perf_counter()
    SimpleDocumentStore.from_persist_path(str(paths.docstore))
    times["docstore_load_s"] = time.perf_counter() - t
    t = time.perf_counter()
    BM25Retriever.from_persist_dir(str(paths.bm25))
    times["bm25_load_s"] = time.perf_counter() - t
    t = time.perf_counter()
    json.loads(paths.vocab.read_text(encoding="utf-8"))
    times["vocab_load_s"] = time.perf_counter() - t
    t = time.perf_counter()
    load_index(settings, auto_build=False)
    times["load_index_s"] = time.perf_counter() - t
    t = time.perf_counter()
    ask(FIRST_QUESTION, settings=settings)
    times["first_ask_after_load_s"] = time.perf_counter() - t
    times["process_total_s"] = time.perf_counter() - t0
    times = {k: round(v, 4) for k, v in times.items()}
    vocab_version = json.loads(paths.vocab.read_text(encoding="utf-8")).get("version")
    return {
        **times,
        "bm25_rebuilt_on_load": len(built),
        "passages": passages,
        "peak_rss_mb_load_and_ask": peak_rss_mb(),
        "vocab_version_after_load": vocab_version,
    }


_SCALE_CHILD = """
import json, sys
from pathlib import Path
from mali_qa.bench import scale_one
print(json.dumps(scale_one(int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5],
                           int(sys.argv[6]))))
"""

#: "minilm": the real model everywhere. "stand-in": ingest embeds with a hashed bag of words (no model), so
#: that large sizes fit the time budget; questions still use MiniLM. Its ingest time is everything but the
#: model (chunking, Chroma, docstore, BM25); its query latency shows how the stores scale.
EMBED_MODES = ("minilm", "stand-in")


def stand_in_embed(texts: list[str]) -> Any:
    """Unit vectors (n, 384) from hashed word counts: deterministic, fast, and ranks texts differently."""
    import zlib

    import numpy as np

    out = np.zeros((len(texts), 384), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().split():
            out[row, zlib.crc32(word.encode("utf-8")) % 384] += 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def scale_one(
    size: int, work: Path, gold: Path, n_questions: int, mode: str = "minilm", batch_articles: int = 0
) -> dict[str, Any]:
    """In this (fresh) process: make the corpus, ingest it, then time warm questions; peak RSS at the end.
    `batch_articles` > 0 overrides index.BATCH_ARTICLES (articles per pipeline run and docstore write)."""
    from . import index as index_module
    from .api import ask, reset
    from .embed import LocalMiniLMEmbedding
    from .index import IndexPaths, ingest

    if batch_articles > 0:
        index_module.BATCH_ARTICLES = batch_articles

    seeds = project_root() / "seeds"
    corpus, store = work / f"corpus_{size}_{mode}", work / f"vs_{size}_{mode}"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(store, ignore_errors=True)
    make_corpus(seeds, size, corpus)
    settings = settings_for(store, corpus)
    real_embed = LocalMiniLMEmbedding.embed
    if mode == "stand-in":
        LocalMiniLMEmbedding.embed = lambda self, texts: stand_in_embed(texts)  # type: ignore[method-assign]
    cpu0 = time.process_time()
    try:
        report = ingest(settings)
    finally:
        LocalMiniLMEmbedding.embed = real_embed  # type: ignore[method-assign]
    ingest_cpu = time.process_time() - cpu0
    paths = IndexPaths(store)
    disk = {p.name: _size_mb(p) for p in (paths.chroma, paths.bm25, paths.docstore, paths.vocab)}
    questions = [it["question"] for it in load_gold(gold) if not it.get("history")][:n_questions]
    reset()
    t = time.perf_counter()
    ask("warm up: what is this about?", settings=settings)
    warmup = time.perf_counter() - t
    ms, cpu = [], []
    for q in questions:
        t, c = time.perf_counter(), time.process_time()
        ask(q, settings=settings)
        ms.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {
        "articles": size,
        "embedding": mode,
        "batch_articles": index_module.BATCH_ARTICLES,
        "passages": report.passages,
        "ingest_s": round(report.seconds, 2),
        "ingest_cpu_s": round(ingest_cpu, 2),
        "ingest_passages_per_s": round(report.passages / report.seconds, 1),
        "load_and_first_ask_in_process_s": round(warmup, 3),
        **latency_summary(ms),
        "cpu_p50_ms": round(statistics.median(cpu), 2),
        "max_rss_mb": peak_rss_mb(),
        "disk_mb": disk,
    }


def _size_mb(path: Path) -> float:
    if path.is_file():
        return round(path.stat().st_size / 1e6, 2)
    return (
        round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 2)
        if path.exists()
        else 0.0
    )


def run_scaling(
    sizes: Sequence[int],
    work: Path,
    out: Path,
    gold: Path,
    n_questions: int = 30,
    keep: bool = False,
    mode: str = "minilm",
    batch_articles: int = 0,
) -> dict[str, Any]:
    """Each size in its own process (honest peak memory), then a second process for the cold load."""
    out.parent.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        store = work / f"vs_{size}_{mode}"
        env = _child_env(store, project_root() / "seeds")
        print(f"scaling: {size} articles ({mode}) ...", file=sys.stderr, flush=True)
        args = [str(size), str(work), str(gold), str(n_questions), mode, str(batch_articles)]
        row = json.loads(_python(_SCALE_CHILD, env, *args, timeout=None))
        row["cold_load"] = json.loads(_python(_LOAD_CHILD, env, str(store)))
        row["measured"] = True
        row["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        print(f"scaling: {json.dumps(row)}", file=sys.stderr, flush=True)
        data = _write_scaling(out, [row])
        if not keep:
            shutil.rmtree(work / f"corpus_{size}_{mode}", ignore_errors=True)
            shutil.rmtree(store, ignore_errors=True)
    return _write_scaling(out, []) if not sizes else data


def _write_scaling(out: Path, new_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge `new_rows` into `out` (re-read just before writing: several runs may share it), then plot."""
    previous = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    rows = {(int(r["articles"]), r.get("embedding", "minilm")): r for r in previous.get("rows", [])}
    rows.update({(int(r["articles"]), r.get("embedding", "minilm")): r for r in new_rows})
    ordered = [rows[k] for k in sorted(rows, key=lambda k: (EMBED_MODES.index(k[1]), k[0]))]
    data: dict[str, Any] = {
        "note": f"synthetic corpora of 3-6 seed sentences per article (seed {SYNTHETIC_SEED}); timings on a "
        "shared 2-core machine under load from other jobs (cpu_* figures are this process's CPU time). "
        "embedding=stand-in rows ingest with a hashed bag of words instead of MiniLM (questions still use "
        "MiniLM): their ingest time excludes the model, their query latency shows how the stores scale.",
        "rows": ordered,
    }
    if previous.get("caveats"):
        data["caveats"] = previous["caveats"]
    measured = [r for r in ordered if r.get("measured") and r.get("embedding", "minilm") == "minilm"]
    if len(measured) >= 2 and max(r["articles"] for r in measured) < max(SCALING_SIZES):
        data["extrapolation_minilm"] = extrapolate(measured, max(SCALING_SIZES))
    out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    plot_scaling(data, out.with_suffix(".png"))
    return data


def extrapolate(rows: list[dict[str, Any]], size: int) -> dict[str, Any]:
    """A log-log fit through the two largest measured sizes (MiniLM rows), clearly an estimate."""
    import math

    a, b = rows[-2], rows[-1]
    out: dict[str, Any] = {"articles": size, "estimated": True, "from_sizes": [a["articles"], b["articles"]]}
    # latency is left out: it barely moves with size and the machine's load swamps the trend
    for key in ("ingest_s", "max_rss_mb", "passages"):
        slope = math.log(b[key] / a[key]) / math.log(b["articles"] / a["articles"])
        out[key] = round(b[key] * (size / b["articles"]) ** slope, 1)
        out[f"{key}_loglog_slope"] = round(slope, 2)
    return out


def plot_scaling(data: dict[str, Any], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"minilm": ("o-", "MiniLM"), "stand-in": ("s--", "stand-in embedding at ingest")}
    for mode, (style, label) in styles.items():
        rows = [r for r in data["rows"] if r.get("measured") and r.get("embedding", "minilm") == mode]
        if not rows:
            continue
        x = [r["articles"] for r in rows]
        left.loglog(x, [r["ingest_s"] for r in rows], style, label=f"ingest s ({label})")
        right.loglog(x, [r["p50_ms"] for r in rows], style, label=f"ask p50 ms ({label})")
        right.loglog(x, [r["p95_ms"] for r in rows], style, alpha=0.5, label=f"ask p95 ms ({label})")
    est = data.get("extrapolation_minilm")
    if est:
        last = max(
            (r for r in data["rows"] if r.get("embedding", "minilm") == "minilm"), key=lambda r: r["articles"]
        )
        left.loglog(
            [last["articles"], est["articles"]],
            [last["ingest_s"], est["ingest_s"]],
            ":",
            color="grey",
            label="MiniLM ingest, extrapolated",
        )
    right.axhline(100, color="red", lw=0.8, label="target 100 ms (50k)")
    right.axhline(20, color="orange", lw=0.8, label="target 20 ms (5)")
    for ax, title in ((left, "Ingest time"), (right, "Warm ask latency")):
        ax.set_xlabel("articles (synthetic)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- the command


def add_command(subparsers: Any) -> None:
    p = subparsers.add_parser("bench", help="benchmark mali-qa against a plain LlamaIndex pipeline")
    p.add_argument("--gold", type=Path, default=None, help="gold JSONL (default: the shared dev set)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default benchmarks/results)")
    p.add_argument("--repeats", type=int, default=3, help="timed passes over the questions (default 3)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--scaling", action="store_true", help="run the synthetic-corpus scaling study instead")
    p.add_argument("--sizes", default="5,500,5000", help="scaling: comma-separated article counts")
    p.add_argument("--work", type=Path, default=None, help="scaling: folder for corpora and indexes (temp)")
    p.add_argument("--embedding", choices=EMBED_MODES, default="minilm", help="scaling: ingest embedding")
    p.add_argument("--batch-articles", type=int, default=0, help="scaling: override index.BATCH_ARTICLES")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    gold = args.gold or default_gold()
    out_dir = args.out or project_root() / RESULTS_DIR
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


def print_scaling(data: dict[str, Any]) -> None:
    print(
        f"{'embedding':>9}{'articles':>9}{'passages':>10}{'ingest s':>10}{'pass/s':>8}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'cpu50 ms':>9}{'RSS MB':>8}{'load s':>8}"
    )
    for r in data["rows"]:
        load = r.get("cold_load", {}).get("load_index_s", float("nan"))
        print(
            f"{r.get('embedding', 'minilm'):>9}{r['articles']:>9}{r['passages']:>10}{r['ingest_s']:>10}"
            f"{r['ingest_passages_per_s']:>8}{r['p50_ms']:>8}{r['p95_ms']:>8}{r.get('cpu_p50_ms', float('nan')):>9}"
            f"{r['max_rss_mb']:>8}{load:>8.2f}"
        )
    if "extrapolation_minilm" in data:
        print(f"ESTIMATE (not measured): {json.dumps(data['extrapolation_minilm'])}")
