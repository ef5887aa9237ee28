"""Chroma in server mode: a real `chroma run` process holds the vectors; BM25 and the docstore stay local."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import free_port, stop

pytestmark = pytest.mark.integration

CHROMA_CLI = Path(sys.executable).with_name("chroma")


def wait_until_up(proc: subprocess.Popen[bytes], port: int, timeout: float = 60.0) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Chroma server exited early with code {proc.returncode}")
        try:
            chromadb.HttpClient(
                host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False)
            ).heartbeat()
            return
        except Exception:
            time.sleep(0.25)
    raise TimeoutError(f"the Chroma server on port {port} did not answer within {timeout:.0f} s")


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    if not CHROMA_CLI.exists():
        pytest.skip(f"no chroma CLI beside {sys.executable}")
    port = free_port()
    log = (tmp_path / "chroma.log").open("wb")
    proc = subprocess.Popen(
        [
            str(CHROMA_CLI),
            "run",
            "--path",
            str(tmp_path / "server-data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        wait_until_up(proc, port)
        yield port
    finally:
        stop(proc)
        log.close()


def test_ingest_and_ask_through_a_chroma_server(chroma_server: int, tmp_path: Path, seeds_dir: Path) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from mali_qa import ask
    from mali_qa.config import Settings
    from mali_qa.ingest.write import ingest
    from mali_qa.service import reset

    store = tmp_path / "vectorstore"
    settings = Settings.from_env(
        env_file=os.devnull,
        seeds_dir=seeds_dir,
        vectorstore_dir=store,
        chroma_host="127.0.0.1",
        chroma_port=chroma_server,
        engine="offline",
    )
    try:
        report = ingest(settings)
        assert report.passages > 0
        assert not (store / "chroma").exists(), "vectors must live on the server, not in vectorstore/chroma"
        assert (store / "bm25").is_dir() and (store / "docstore.json").is_file()

        answer = ask("When did France leave Mali?", settings=settings)
        assert answer.answered, answer.text
        assert any(c.source == "002_07d3930ec7cbf04e" for c in answer.citations), answer.citations
        # the server's vectors read once and searched in memory, or queried on the server each time: one answer
        queried = ask("When did France leave Mali?", settings=settings.with_(memory_vectors=0))
        assert (queried.text, queried.citations) == (answer.text, answer.citations)

        client = chromadb.HttpClient(
            host="127.0.0.1", port=chroma_server, settings=ChromaSettings(anonymized_telemetry=False)
        )
        names = [getattr(c, "name", c) for c in client.list_collections()]
        assert settings.collection in names
        assert client.get_collection(settings.collection).count() == report.passages
    finally:
        reset()
