"""The scaling study of `benchmarks/bench.py --scaling`: synthetic corpora made from the seed sentences, each
size ingested and questioned in its own process (ingest time, warm latency, peak memory, cold index load)."""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import (
    FIRST_QUESTION,
    WARM_UP,
    child_env,
    gold_items,
    latency_summary,
    peak_rss_mb,
    run_python,
    settings_for,
)

from mali_qa.config import project_root
from mali_qa.eval.scoring import percentile

SCALING_SIZES = (5, 500, 5000, 50000)
SYNTHETIC_SEED = 20261121


def seed_sentences(seeds: Path) -> list[tuple[str, str]]:
    """(title, sentence) for every sentence of the seed articles of at least five words."""
    from mali_qa.ingest.corpus import read_folder
    from mali_qa.text import split_sentences

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
    "import sys, time, json; t0 = time.perf_counter(); from bench_scaling import cold_load; "
    "print(json.dumps(cold_load(sys.argv[1], t0)))"
)


def cold_load(store: str, t0: float) -> dict[str, Any]:
    """In a fresh process: how long each part of a built index takes to open (reading imports no
    llama-index), and whether the load rewrote BM25."""
    from mali_qa.search.index import load_index
    from mali_qa.search.lexical import Bm25Index
    from mali_qa.service import ask
    from mali_qa.store.chroma import chroma_client
    from mali_qa.store.folder import IndexPaths

    t_import = time.perf_counter() - t0
    settings = settings_for(Path(store), project_root() / "seeds")
    paths = IndexPaths(Path(store))
    bm25_stamp = (paths.bm25 / "params.index.json").stat().st_mtime_ns
    times: dict[str, Any] = {"import_s": t_import}
    t = time.perf_counter()
    passages = chroma_client(settings).get_collection(settings.collection).count()
    times["chroma_open_s"] = time.perf_counter() - t
    t = time.perf_counter()
    Bm25Index(paths.bm25)
    times["bm25_load_s"] = time.perf_counter() - t
    t = time.perf_counter()
    json.loads(paths.vocab.read_text(encoding="utf-8"))
    times["vocab_load_s"] = time.perf_counter() - t
    t = time.perf_counter()
    load_index(settings)
    times["load_index_s"] = time.perf_counter() - t
    t = time.perf_counter()
    ask(FIRST_QUESTION, settings=settings)
    times["first_ask_after_load_s"] = time.perf_counter() - t
    times["process_total_s"] = time.perf_counter() - t0
    times = {k: round(v, 4) for k, v in times.items()}
    vocab_version = json.loads(paths.vocab.read_text(encoding="utf-8")).get("version")
    return {
        **times,
        "bm25_rebuilt_on_load": int((paths.bm25 / "params.index.json").stat().st_mtime_ns != bm25_stamp),
        "passages": passages,
        "peak_rss_mb_load_and_ask": peak_rss_mb(),
        "vocab_version_after_load": vocab_version,
    }


_SCALE_CHILD = """
import json, sys
from pathlib import Path
from bench_scaling import scale_one
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
    `batch_articles` > 0 overrides mali_qa.ingest.write.BATCH_ARTICLES (articles per pipeline run and
    docstore write)."""
    from mali_qa.ingest import write
    from mali_qa.ingest.docstore import docstore_path
    from mali_qa.service import ask, reset
    from mali_qa.store.embed import LocalMiniLMEmbedding
    from mali_qa.store.folder import IndexPaths

    if batch_articles > 0:
        write.BATCH_ARTICLES = batch_articles

    seeds = project_root() / "seeds"
    corpus, store = work / f"corpus_{size}_{mode}", work / f"vs_{size}_{mode}"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(store, ignore_errors=True)
    make_corpus(seeds, size, corpus)
    settings = settings_for(store, corpus)
    real_embed = LocalMiniLMEmbedding.embed
    if mode == "stand-in":
        LocalMiniLMEmbedding.embed = lambda self, texts: stand_in_embed(texts)
    cpu0 = time.process_time()
    try:
        report = write.ingest(settings)
    finally:
        LocalMiniLMEmbedding.embed = real_embed
    ingest_cpu = time.process_time() - cpu0
    paths = IndexPaths(store)
    disk = {
        p.name: _size_mb(p)
        for p in (paths.chroma, paths.bm25, docstore_path(paths), paths.articles, paths.vocab)
    }
    questions = [it.question for it in gold_items(gold) if not it.history][:n_questions]
    reset()
    t = time.perf_counter()
    ask(WARM_UP, settings=settings)
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
        "batch_articles": write.BATCH_ARTICLES,
        "passages": report.passages,
        "ingest_s": round(report.seconds, 2),
        "ingest_cpu_s": round(ingest_cpu, 2),
        "ingest_passages_per_s": round(report.passages / report.seconds, 1),
        "load_and_first_ask_in_process_s": round(warmup, 3),
        **latency_summary(ms),
        "cpu_p50_ms": percentile(cpu, 0.5),
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
        env = child_env(store, project_root() / "seeds")
        print(f"scaling: {size} articles ({mode}) ...", file=sys.stderr, flush=True)
        args = [str(size), str(work), str(gold), str(n_questions), mode, str(batch_articles)]
        row = json.loads(run_python(_SCALE_CHILD, env, *args, timeout=None))
        row["cold_load"] = json.loads(run_python(_LOAD_CHILD, env, str(store)))
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
