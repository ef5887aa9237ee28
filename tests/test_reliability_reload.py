"""Issue 27, finding 1, with real processes: a running `mali-qa serve` picks up an ingest that another
process (`mali-qa ingest`) finished, answers from the index it has loaded while that ingest runs, and never
fails a request in between; and, fast, the reload rules of `load_index` over a fake index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mali_qa.config import Settings
from mali_qa.errors import IndexUnavailableError, IngestLockedError
from mali_qa.ingest.write import ingest
from mali_qa.server.process import free_port, stop, wait_healthy
from mali_qa.store.folder import IndexPaths

ROOT = Path(__file__).resolve().parents[1]
NEW_ARTICLE = (
    "Engineers open the Zorblax bridge at Kidal\n\n"
    "The Zorblax bridge over the wadi at Kidal was opened on Tuesday by the engineer Amadou Quenzel, who led "
    "the works for two years. Quenzel said the Zorblax bridge would carry 300 trucks a day between Kidal and "
    "the Algerian border, and that its steel came from a foundry in Dakar."
)
OLD_QUESTION = "Why did France withdraw its troops from Mali?"
NEW_QUESTION = "Who opened the Zorblax bridge at Kidal?"


def child_env(seeds: Path, store: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST", "MALI_QA_SERVER_TOKEN")
    }
    env.update(
        MALI_QA_SEEDS_DIR=str(seeds),
        MALI_QA_VECTORSTORE_DIR=str(store),
        MALI_QA_ENGINE="offline",
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        PYTHONUNBUFFERED="1",
    )
    return env


def ask(url: str, question: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/ask", json={"question": question}, timeout=60)


@pytest.mark.integration
def test_a_running_server_answers_from_an_ingest_finished_by_another_process(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(ROOT / "seeds", seeds)
    store = tmp_path / "store"
    ingest(Settings.from_env(env_file=os.devnull, seeds_dir=seeds, vectorstore_dir=store))
    env = child_env(seeds, store)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "mali_qa.cli", "serve", "--port", str(port)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    statuses: list[tuple[str, int, str]] = []
    try:
        wait_healthy(f"{url}/health", server, name="mali-qa serve", log=log, timeout=180.0)
        first = ask(url, OLD_QUESTION)
        assert first.status_code == 200 and first.json()["answered"], first.text
        (seeds / "zorblax.txt").write_text(NEW_ARTICLE, encoding="utf-8")
        ingesting = subprocess.Popen(
            [sys.executable, "-m", "mali_qa.cli", "ingest"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            while ingesting.poll() is None:  # the server answers while the other process ingests
                reply = ask(url, OLD_QUESTION)
                statuses.append(("during", reply.status_code, reply.text[:300]))
            output = ingesting.communicate(timeout=300)[0]
        finally:
            stop(ingesting)  # type: ignore[arg-type]
        assert ingesting.returncode == 0 and "1 added" in output, output
        deadline = time.monotonic() + 60
        sources: list[str] = []
        while time.monotonic() < deadline and "zorblax" not in sources:
            reply = ask(url, NEW_QUESTION)
            statuses.append(("after", reply.status_code, reply.text[:300]))
            if reply.status_code == 200:
                sources = [c["source"] for c in reply.json()["citations"]]
                answer = reply.json()["text"]
        assert "zorblax" in sources, statuses[-1]
        assert "Quenzel" in answer, answer
        old = ask(url, OLD_QUESTION)
        assert old.status_code == 200 and old.json()["answered"], old.text
    finally:
        stop(server)  # type: ignore[arg-type]
    failed = [s for s in statuses if s[1] != 200]
    assert not failed, failed[:3]
    assert any(s[0] == "during" for s in statuses)  # the server was asked while the ingest ran


# --- finding 1, fast: the reload rules of `load_index`, over a fake index ----------------------------------


def test_load_index_reloads_with_a_new_client_and_keeps_the_old_index_until_the_new_one_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mali_qa.search import index

    settings = Settings.from_env(
        env_file=os.devnull, seeds_dir=tmp_path / "articles", vectorstore_dir=tmp_path / "store"
    )
    paths = IndexPaths(tmp_path / "store")
    paths.root.mkdir()
    paths.manifest.write_text("{}", encoding="utf-8")
    running = {"now": False, "broken": False}

    class FakeState:
        def __init__(self, settings: Settings, *, fresh_client: bool = False) -> None:
            if running["broken"]:
                raise IndexUnavailableError("half written")
            self.fresh_client, self.paths, self.stamp = fresh_client, paths, index._stamp(paths)

        def is_stale(self) -> bool:
            return index._stamp(paths) != self.stamp

    monkeypatch.setattr(index, "IndexState", FakeState)
    monkeypatch.setattr(index, "ingest_running", lambda _paths: running["now"])
    monkeypatch.setattr(index, "INGEST_WAIT", 0.5)
    index._states.clear()

    def new_manifest() -> None:
        stamp = index._stamp(paths)
        os.utime(paths.manifest, ns=(stamp + 10**9, stamp + 10**9))

    first = index.load_index(settings)
    assert not first.fresh_client and index.load_index(settings) is first
    new_manifest()
    running["now"] = True  # an ingest writes: the loaded index answers
    assert index.load_index(settings) is first
    running["now"] = False  # it has finished: loaded again, with a new Chroma client
    second = index.load_index(settings)
    assert second is not first and second.fresh_client
    new_manifest()
    running["broken"] = True  # the new index cannot be loaded: the old one goes on answering
    assert index.load_index(settings) is second
    assert index.load_index(settings) is second  # and it is not tried again until the manifest changes
    index._states.clear()
    with pytest.raises(IndexUnavailableError):  # a process with nothing loaded gets the error
        index.load_index(settings)
    running["now"] = True  # ... or, while an ingest writes, waits for it, then says it is running
    with pytest.raises(IngestLockedError):
        index.load_index(settings)
    index._states.clear()
