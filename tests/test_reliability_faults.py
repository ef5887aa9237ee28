"""Reliability under faults: an ingest killed with SIGKILL, two ingests at once, a corrupted store and an
incompatible one; each ends with an index equal to a clean build, or with an error naming the fix."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mali_qa import service as api
from mali_qa.config import Settings
from mali_qa.errors import IndexUnavailableError
from mali_qa.ingest.corpus import parse_article
from mali_qa.ingest.write import ingest
from mali_qa.library import list_articles
from mali_qa.store.chroma import chroma_client, sentence_collection_name
from mali_qa.store.folder import IndexPaths, read_manifest
from mali_qa.text import split_sentences

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
N_ARTICLES = 60
QUESTION = "Who controlled the Wagner Group?"
INGEST_SCRIPT = """
import os, sys
from pathlib import Path
from mali_qa.config import Settings
from mali_qa.errors import IngestLockedError
from mali_qa.ingest.write import ingest
s = Settings.from_env(env_file=os.devnull, seeds_dir=Path(sys.argv[1]), vectorstore_dir=Path(sys.argv[2]))
print("STARTED", flush=True)
try:
    r = ingest(s, lock_wait=float(sys.argv[3]))
except IngestLockedError as exc:
    print("LOCKED", exc, flush=True)
    sys.exit(3)
print("DONE", len(r.added), r.unchanged, flush=True)
"""


def synthetic_folder(folder: Path, n: int) -> Path:
    """`n` distinct articles made of seed sentences (each checked to survive cleaning whole)."""
    sentences = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        sentences += [
            text[s:e] for s, e in split_sentences(text) if 60 <= e - s <= 400 and "\n" not in text[s:e]
        ]
    folder.mkdir(parents=True, exist_ok=True)
    made, seed = 0, 0
    while made < n:
        rng = random.Random(seed)
        seed += 1
        body = (
            " ".join(rng.sample(sentences, 10))
            + f" Report {made} was filed from Gao by correspondent {seed}."
        )
        raw = f"Synthetic report {made} on Mali\n\n{body}\n"
        if len(parse_article("x", raw, ".txt").text) < 0.9 * len(body):
            continue
        (folder / f"synthetic_{made:03d}.txt").write_text(raw, encoding="utf-8")
        made += 1
    return folder


def settings_for(folder: Path, store: Path) -> Settings:
    # repair and recovery are tested here, not which sentence answers: the hand-set engine, for stable answers
    return Settings.from_env(
        env_file=os.devnull, seeds_dir=folder, vectorstore_dir=store, offline_engine="rules"
    )


def snapshot(settings: Settings) -> dict[str, Any]:
    """What the index holds: passage and sentence ids, the articles of the docstore, the manifest's counts."""
    client = chroma_client(settings)
    passages = client.get_collection(settings.collection).get(include=["metadatas"])
    sentences = client.get_collection(sentence_collection_name(settings)).get(include=[])
    docstore = json.loads((Path(settings.vectorstore_dir) / "docstore.json").read_text(encoding="utf-8"))
    manifest = read_manifest(IndexPaths(Path(settings.vectorstore_dir)))
    assert len(passages["ids"]) == len(set(passages["ids"])), "duplicate passage ids"
    assert len(sentences["ids"]) == len(set(sentences["ids"])), "duplicate sentence ids"
    return {
        "passages": sorted(passages["ids"]),
        "articles": sorted({m["article_id"] for m in passages["metadatas"]}),
        "sentences": sorted(sentences["ids"]),
        "docstore": sorted(docstore.get("docstore/ref_doc_info", {})),
        "manifest": {k: (manifest or {}).get(k) for k in ("articles", "passages", "embed_model")},
    }


@pytest.fixture(scope="module")
def corpus60(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The synthetic folder and a snapshot of its clean build."""
    base = tmp_path_factory.mktemp("faults")
    folder = synthetic_folder(base / "articles", N_ARTICLES)
    settings = settings_for(folder, base / "clean")
    report = ingest(settings)
    assert report.articles == N_ARTICLES and not report.warnings
    clean = snapshot(settings)
    assert len(clean["articles"]) == N_ARTICLES
    return folder, clean


def start_ingest(folder: Path, store: Path, lock_wait: float = 0.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", INGEST_SCRIPT, str(folder), str(store), str(lock_wait)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Any, timeout: float, proc: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the ingest ended early: {proc.communicate()}")
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_ingest_killed_halfway_then_run_again(tmp_path: Path, corpus60: tuple[Path, dict[str, Any]]) -> None:
    folder, clean = corpus60
    store = tmp_path / "store"
    proc = start_ingest(folder, store)
    # the first batch of 32 articles is recorded in docstore.json; kill while the second is being written
    wait_for(lambda: (store / "docstore.json").exists(), 300, proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (store / "manifest.json").exists()  # the index was left unfinished
    settings = settings_for(folder, store)
    with pytest.raises(IndexUnavailableError, match="mali-qa ingest"):
        _load_without_build(settings)
    report = ingest(settings)
    assert 0 < len(report.added) < N_ARTICLES, report.summary()  # resumed: the first batch was kept
    assert snapshot(settings) == clean
    api.reset()
    answer = api.ask(QUESTION, settings=settings)
    assert answer.answered and answer.citations


def _load_without_build(settings: Settings) -> None:
    from mali_qa.search.index import IndexState

    IndexState(settings)


@pytest.mark.slow
def test_two_ingests_at_once(tmp_path: Path, corpus60: tuple[Path, dict[str, Any]]) -> None:
    folder, clean = corpus60
    store = tmp_path / "store"
    first = start_ingest(folder, store)
    wait_for(lambda: (store / "chroma" / "chroma.sqlite3").exists(), 300, first)  # holds the lock by now
    second = start_ingest(folder, store, lock_wait=0)
    waiting = start_ingest(folder, store, lock_wait=600)
    out2, err2 = second.communicate(timeout=300)
    first_running = first.poll() is None
    out1, err1 = first.communicate(timeout=600)
    out3, err3 = waiting.communicate(timeout=600)
    assert first.returncode == 0 and out1.split()[-3:] == ["DONE", str(N_ARTICLES), "0"], (out1, err1)
    if first_running:
        assert second.returncode == 3, (out2, err2)
        assert "another ingest is running" in out2
    assert waiting.returncode == 0 and out3.split()[-3:] == ["DONE", "0", str(N_ARTICLES)], (out3, err3)
    assert snapshot(settings_for(folder, store)) == clean


# -- corrupted and incompatible stores -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """An index of the five seed articles, to copy and damage."""
    store = tmp_path_factory.mktemp("small") / "store"
    settings = settings_for(SEEDS, store)
    ingest(settings)
    return store, snapshot(settings)


def damaged_copy(store: Path, tmp_path: Path) -> tuple[Settings, Path]:
    copy = tmp_path / "copy"
    shutil.copytree(store, copy, ignore=shutil.ignore_patterns(".ingest.lock"))
    api.reset()
    return settings_for(SEEDS, copy), copy


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00garbage\xff" * 512)


DAMAGE = {
    "vocab.json garbage": lambda root: _garbage(root / "vocab.json"),
    "articles.json truncated": lambda root: (root / "articles.json").write_text(
        '{"format": 1, "articles": ['
    ),
    "bm25 garbage": lambda root: [_garbage(p) for p in (root / "bm25").iterdir() if p.is_file()],
    "chroma.sqlite3 garbage": lambda root: _garbage(root / "chroma" / "chroma.sqlite3"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_corrupted_store_names_the_fix_and_rebuild_repairs_it(
    damage: str, small_store: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    store, clean = small_store
    settings, copy = damaged_copy(store, tmp_path)
    DAMAGE[damage](copy)
    with pytest.raises(IndexUnavailableError) as caught:
        if damage.startswith("articles"):
            # answering never reads the article store (the words typo repair needs are counted at ingest):
            # the question is answered, and what reads the articles names the fix
            assert api.ask(QUESTION, settings=settings).answered
            list_articles(settings)
        else:
            api.ask(QUESTION, settings=settings)
    assert "`mali-qa ingest" in str(caught.value)  # a plain ingest repairs our files
    assert "\n" not in str(caught.value)
    ingest(settings, rebuild=True)
    api.reset()
    assert snapshot(settings) == clean
    assert api.ask(QUESTION, settings=settings).answered


def test_incompatible_collection_is_rebuilt_by_ingest(
    small_store: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    store, clean = small_store
    settings, _ = damaged_copy(store, tmp_path)
    collection = chroma_client(settings).get_collection(settings.collection)
    collection.modify(metadata={"embed_model": "openai:text-embedding-3-small"})
    assert (collection.metadata or {}).get("embed_model") == "openai:text-embedding-3-small"
    report = ingest(settings)
    assert report.rebuilt and sorted(report.added) == clean["articles"]
    assert snapshot(settings) == clean
    api.reset()
    assert api.ask(QUESTION, settings=settings).answered


def test_incompatible_manifest_names_the_rebuild_and_ingest_repairs_it(
    small_store: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """`ask` never rebuilds on its own (issue 12, finding 2): it names the fix, and `ingest` applies it."""
    store, clean = small_store
    settings, copy = damaged_copy(store, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "embed_model": "openai:other"}))
    with pytest.raises(IndexUnavailableError, match="mali-qa ingest --rebuild"):
        _load_without_build(settings)
    with pytest.raises(IndexUnavailableError, match="mali-qa ingest --rebuild"):
        api.ask(QUESTION, settings=settings)
    assert ingest(settings).rebuilt
    api.reset()
    assert api.ask(QUESTION, settings=settings).answered
    assert snapshot(settings) == clean
