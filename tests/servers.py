"""Helpers for tests that start a real server: a free loopback port, and stopping it by its own process."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Stop the server we started, by its process: terminate, then kill after `timeout`."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


ROOT = Path(__file__).resolve().parents[1]


def wait_healthy(
    health_url: str,
    proc: subprocess.Popen[bytes],
    *,
    name: str,
    log: Path | None = None,
    timeout: float = 60.0,
) -> None:
    """Wait until `health_url` answers 200; fail naming `name` (with the tail of its `log`) when the server
    exits first, or when it is not healthy within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = f":\n{log.read_text(errors='replace')[-3000:]}" if log is not None else ""
            raise RuntimeError(f"{name} exited with code {proc.returncode}{tail}")
        try:
            with urllib.request.urlopen(health_url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{name} was not healthy at {health_url} after {timeout:.0f} s")


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
