"""The benchmark scripts stay runnable: they are plain scripts outside the package, so no type check reaches
them, and an API change once broke `components.py` unnoticed (a missing argument to `ChromaSearch`). It is
run here for real, one repeat, against the session's built index (the other scripts start servers or
browsers and run for minutes: they are run by hand, `benchmarks/README.md`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_components_benchmark_times_every_component_of_a_warm_ask(
    built_settings: object, tmp_path: Path
) -> None:
    out = tmp_path / "components.json"
    store = built_settings.vectorstore_dir  # type: ignore[attr-defined]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "benchmarks")}
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "components.py"), "--store", str(store), "--repeats", "1",
         "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    components = json.loads(out.read_text(encoding="utf-8"))["components"]
    assert "ask (whole, warm)" in components
    assert any(name.startswith("dense passages: Chroma query") for name in components)
    assert all(row["wall_ms"] > 0 for row in components.values())
