"""Helpers for tests that start a real server: the page's Streamlit server; the port, health and stop helpers
are the package's own (`mali_qa.server.process`), shared with the benchmarks."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from mali_qa.server.process import free_port, stop, wait_healthy

__all__ = ["ROOT", "free_port", "page_server", "stop", "wait_healthy"]


ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def page_server(seeds: Path, store: Path, work: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port over these articles and index, offline; stopped by
    its own process id on exit. Yields the page's URL."""
    env = {
        **os.environ,
        "MALI_QA_SEEDS_DIR": str(seeds),
        "MALI_QA_VECTORSTORE_DIR": str(store),
        "MALI_QA_ENGINE": "offline",
        "MALI_QA_EVAL_REPORT_DIR": str(work / "no-report"),
        "ANONYMIZED_TELEMETRY": "False",
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with (work / "streamlit.log").open("wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{url}/_stcore/health", proc, name="streamlit", log=work / "streamlit.log")
        yield url
    finally:
        stop(proc)
