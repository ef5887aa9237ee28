"""What the benchmark scripts share: the gold set, settings of a temp index, timings, memory, child processes.

The scripts of this folder import it as `harness` (a script's own folder is on `sys.path`; child processes
get it through PYTHONPATH, see `child_env`)."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mali_qa.config import Settings, project_root
from mali_qa.eval.gold import GoldItem, load_gold
from mali_qa.eval.scoring import percentile

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
FIRST_QUESTION = "When did France leave Mali?"
WARM_UP = "warm up: what is this about?"


def default_gold() -> Path:
    """The shared dev gold set when it is there, else the project's eval/gold.jsonl."""
    shared = project_root().parent / "shared" / "eval" / "gold_dev.jsonl"
    return shared if shared.exists() else project_root() / "eval" / "gold.jsonl"


def gold_items(path: Path) -> list[GoldItem]:
    """The valid items of a gold file, read as `mali-qa eval` reads it; a warning per skipped line."""
    items, warnings = load_gold(path)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not items:
        raise SystemExit(f"gold file {path} has no valid item")
    return items


def settings_for(store: Path, seeds: Path, **extra: Any) -> Settings:
    """Offline settings of an index in `store` built from `seeds`, ignoring the project's .env."""
    return Settings.from_env(
        env_file=os.devnull, vectorstore_dir=store, seeds_dir=seeds, engine="offline", **extra
    )


def latency_summary(ms: Sequence[float]) -> dict[str, Any]:
    """p50, p95 (the percentiles of `mali-qa eval`), mean and count of latencies in ms."""
    return {
        "p50_ms": percentile(ms, 0.5),
        "p95_ms": percentile(ms, 0.95),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
        "n": len(ms),
    }


def timed_runs(items: Sequence[GoldItem], run: Callable[[GoldItem], Any], repeats: int) -> dict[str, Any]:
    """Wall-clock latency percentiles, and the median CPU time of this process per call (robust to load)."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeats):
        for item in items:
            t, c = time.perf_counter(), time.process_time()
            run(item)
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    return {**latency_summary(wall), "cpu_p50_ms": percentile(cpu, 0.5)}


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


def child_env(store: Path, seeds: Path) -> dict[str, str]:
    """The environment of a measuring child: offline, no model server, this folder importable."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST")
    }
    env.update(
        MALI_QA_VECTORSTORE_DIR=str(store),
        MALI_QA_SEEDS_DIR=str(seeds),
        MALI_QA_ENGINE="offline",
        ANONYMIZED_TELEMETRY="False",
        HF_HUB_OFFLINE="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(BENCH_DIR), env.get("PYTHONPATH", "")) if p),
    )
    return env


def run_python(code: str, env: dict[str, str], *args: str, timeout: float | None = 3600) -> str:
    """Run `code` in a new interpreter; its last line of output (a child failing raises RuntimeError)."""
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
