"""Throughput and latency of `mali-qa serve`'s /v1/ask at 1 and 4 concurrent clients, next to in-process `ask`.

Usage:
    .venv/bin/python benchmarks/server_bench.py [--vectorstore DIR] [--rounds 3] [--clients 1,4]
Asks the gold set's questions (the shared dev set when it is there, with their history) in this process
through `ask` (from 1 and 4 threads) and over HTTP against a real `mali-qa serve` on a free loopback port
(offline engine; one httpx client with keep-alive per client thread), all warm. Each round runs every
configuration once, in turn, so that a change in the machine's load falls on all of them alike. Without
--vectorstore it builds the index of seeds/ in a temp folder (not timed).
Writes benchmarks/results/server_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from harness import (
    RESULTS_DIR,
    child_env,
    default_gold,
    gold_items,
    latency_summary,
    settings_for,
)

from mali_qa.config import project_root
from mali_qa.eval.gold import GoldItem
from mali_qa.server.process import free_port, stop, wait_healthy

ROOT = project_root()


class Run:
    """The calls of one configuration (where, how many clients) over every round."""

    def __init__(self, where: str, clients: int) -> None:
        self.where, self.clients = where, clients
        self.latencies: list[float] = []
        self.wall = 0.0
        self.not_ok = 0

    def add(self, jobs: Sequence[GoldItem], one: Callable[[Any, GoldItem], int], session: Any = None) -> None:
        """Split `jobs` over the clients' threads, each calling `one(its session, item)` in turn."""
        shares = [list(jobs[i :: self.clients]) for i in range(self.clients)]

        def client(share: list[GoldItem]) -> tuple[list[float], int]:
            own = session() if session else None
            times, bad = [], 0
            try:
                for item in share:
                    started = time.perf_counter()
                    bad += one(own, item) != 200
                    times.append((time.perf_counter() - started) * 1000)
            finally:
                if own is not None:
                    own.close()
            return times, bad

        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.clients) as pool:
            for times, bad in pool.map(client, shares):
                self.latencies += times
                self.not_ok += bad
        self.wall += time.perf_counter() - began

    def summary(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "clients": self.clients,
            "requests": len(self.latencies),
            "requests_per_s": round(len(self.latencies) / self.wall, 1),
            **latency_summary(self.latencies),
            "not_ok": self.not_ok,
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--vectorstore", type=Path, help="a built index (default: build seeds/ in a temp folder)"
    )
    parser.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    parser.add_argument("--gold", type=Path, default=default_gold())
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds; each asks every question once per configuration"
    )
    parser.add_argument("--clients", default="1,4", help="concurrent clients, comma-separated")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "server_bench.json")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    items = gold_items(args.gold)
    load_before = [round(x, 2) for x in os.getloadavg()]

    with tempfile.TemporaryDirectory(prefix="server-bench-") as tmp:
        store = args.vectorstore.resolve() if args.vectorstore else Path(tmp) / "vectorstore"
        settings = settings_for(store, args.seeds.resolve())
        if args.vectorstore is None:
            from mali_qa.ingest.write import ingest

            print(f"building the index in {store} (not timed)", file=sys.stderr)
            ingest(settings)
        from mali_qa import ask

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**child_env(store, args.seeds.resolve()), "MALI_QA_SERVER_MAX_CONCURRENT": str(max(counts))}
        env.pop("MALI_QA_SERVER_TOKEN", None)
        log_path = Path(tmp) / "serve.log"
        command = [
            sys.executable,
            "-m",
            "mali_qa.cli",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            started = time.monotonic()
            wait_healthy(f"{url}/health", proc, name="mali-qa serve", timeout=300.0)
            start_s = time.monotonic() - started

            def in_process(_: Any, item: GoldItem) -> int:
                ask(item.question, history=item.history or None, settings=settings)
                return 200

            def over_http(session: Any, item: GoldItem) -> int:
                body = {"question": item.question, "history": item.history or []}
                return int(session.post(f"{url}/v1/ask", json=body).status_code)

            def client() -> httpx.Client:
                return httpx.Client(timeout=120)

            Run("warm-up", 1).add(items, in_process)  # the index, the model, every retriever
            Run("warm-up", 1).add(items, over_http, client)
            runs = [
                (Run(where, n), one)
                for n in counts
                for where, one in (("in-process ask", in_process), ("HTTP /v1/ask", over_http))
            ]
            for _ in range(args.rounds):
                for run, one in runs:
                    run.add(items, one, client if one is over_http else None)
        except Exception:
            print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        finally:
            stop(proc)

    rows = [run.summary() for run, _ in runs]
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
        },
        "gold": str(args.gold),
        "questions": len(items),
        "rounds": args.rounds,
        "engine": "offline",
        "serve_start_to_healthy_s": round(start_s, 2),
        "runs": rows,
        "note": "server and clients on this machine; rounds interleave the configurations",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{'':<16} {'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'not ok':>6}")
    for row in rows:
        print(
            f"{row['where']:<16} {row['clients']:>7} {row['requests_per_s']:>7} {row['p50_ms']:>7} "
            f"{row['p95_ms']:>7} {row['not_ok']:>6}"
        )
    print(f"load average before {load_before}, after {result['machine']['load_average_after']}")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
