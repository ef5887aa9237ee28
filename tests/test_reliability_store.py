"""Findings 1, 2, 11, 12 and the store cases of 14 (issue 12): a killed ingest leaves no phantom article;
`ask` never ingests on its own over an existing store or a running ingest; damaged BM25 files, an empty
folder, another collection name, a store that is a file or read-only each end in a message naming the fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mali_qa import service as api
from mali_qa.config import Settings
from mali_qa.errors import IndexUnavailableError, IngestError, MaliQAError
from mali_qa.ingest import write
from mali_qa.ingest.docstore import docstore_path
from mali_qa.ingest.write import ingest
from mali_qa.store.chroma import chroma_client, sentence_collection_name
from mali_qa.store.folder import IndexPaths, read_manifest

pytestmark = pytest.mark.integration

ARTICLES = {
    "alpha": "Alpha headline about Mali\n\nFrench troops left Timbuktu on December 14. Russian trainers arrived.",
    "beta": "Beta headline about Wagner\n\nThe Wagner Group was owned by Yevgeny Prigozhin. He was killed in August.",
    "gamma": "Gamma headline about Niger\n\nNiger will host about 1,000 French troops in Niamey after the exit.",
}
QUESTION = "Who owned the Wagner Group?"
HOLD_LOCK = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1], thread_local=False)
lock.acquire()
print("HELD", flush=True)
time.sleep(600)
"""


def articles(folder: Path, n: int = 0) -> Path:
    """The three tiny articles, or `n` short notes."""
    folder.mkdir(parents=True, exist_ok=True)
    if n:
        for i in range(n):
            (folder / f"note_{i:03d}.txt").write_text(
                f"Field note {i} from Gao\n\nPatrol {i} reported that convoy {i * 7} reached Gao on day {i}.",
                encoding="utf-8",
            )
    else:
        for name, text in ARTICLES.items():
            (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


def settings_for(folder: Path, store: Path, **changes: Any) -> Settings:
    return Settings.from_env(env_file=os.devnull, seeds_dir=folder, vectorstore_dir=store, **changes)


def stored_articles(settings: Settings) -> tuple[set[str], set[str]]:
    """The article ids of the stored passage vectors and of the stored sentence vectors."""
    client = chroma_client(settings)
    passages = client.get_collection(settings.collection).get(include=["metadatas"])["metadatas"]
    sentences = client.get_collection(sentence_collection_name(settings)).get(include=["metadatas"])
    return {m["article_id"] for m in passages}, {m["article_id"] for m in sentences["metadatas"]}


@pytest.fixture
def built(tmp_path: Path) -> Settings:
    settings = settings_for(articles(tmp_path / "articles"), tmp_path / "store")
    ingest(settings)
    api.reset()
    return settings


def hold_lock(settings: Settings) -> subprocess.Popen[str]:
    """Another process holding the ingest lock, as a running ingest does; stopped by the test."""
    IndexPaths(settings.vectorstore_dir).root.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(IndexPaths(settings.vectorstore_dir).lock)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "HELD"
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait(timeout=30)


def ask_within(seconds: float, *args: Any, **kwargs: Any) -> Any:
    """`api.ask` in a thread: its Answer or exception, or a failure when it takes over `seconds`."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["answer"] = api.ask(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    start = time.monotonic()
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"ask still waiting after {seconds} s"
    result["seconds"] = time.monotonic() - start
    return result


# -- finding 1: a killed ingest leaves no phantom article ------------------------------------------------


def test_killed_ingest_of_another_folder_leaves_no_phantom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case: a folder of notes is being ingested when the process dies (here: interrupted in
    its third batch, after the docstore was saved once); then the seeds are ingested."""
    notes = settings_for(articles(tmp_path / "notes", n=12), tmp_path / "store")
    monkeypatch.setattr(write, "BATCH_ARTICLES", 4)
    calls = {"n": 0}
    real = write._add_sentences

    def dies_in_the_third_batch(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # like SIGKILL: nothing after this point runs
        real(*args)

    monkeypatch.setattr(write, "_add_sentences", dies_in_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        ingest(notes)
    monkeypatch.setattr(write, "_add_sentences", real)
    seeds = settings_for(articles(tmp_path / "articles"), tmp_path / "store")
    report = ingest(seeds)
    assert sorted(report.added) == sorted(ARTICLES)
    assert stored_articles(seeds) == (set(ARTICLES), set(ARTICLES))
    assert report.passages == 3 and read_manifest(IndexPaths(seeds.vectorstore_dir))["passages"] == 3
    api.reset()
    answer = api.ask(QUESTION, settings=seeds)
    assert {c.source for c in answer.citations} <= set(ARTICLES)


def test_articles_deleted_from_chroma_but_still_in_the_docstore_are_indexed_again(built: Settings) -> None:
    """The other half of a killed run: the docstore says unchanged, Chroma lost the passages."""
    client = chroma_client(built)
    client.get_collection(built.collection).delete(where={"article_id": "beta"})
    IndexPaths(built.vectorstore_dir).manifest.unlink()  # the run that deleted them did not finish
    report = ingest(built)
    assert report.added == ["beta"] and report.unchanged == 2
    assert stored_articles(built) == (set(ARTICLES), set(ARTICLES))


# -- finding 2: `ask` never ingests on its own over a store ------------------------------------------------


def test_ask_over_an_unfinished_store_says_so_and_ingests_nothing(built: Settings) -> None:
    paths = IndexPaths(built.vectorstore_dir)
    paths.manifest.unlink()  # a killed ingest of another folder
    docstore = docstore_path(paths).read_bytes()
    other = built.with_(seeds_dir=articles(Path(built.vectorstore_dir).parent / "seeds", n=2))
    result = ask_within(20, QUESTION, settings=other)
    assert isinstance(result.get("error"), IndexUnavailableError), result
    assert "mali-qa ingest" in str(result["error"]) and result["seconds"] < 10
    assert not paths.manifest.exists() and docstore_path(paths).read_bytes() == docstore


def test_ask_during_an_ingest_says_one_is_running_within_seconds(built: Settings) -> None:
    IndexPaths(built.vectorstore_dir).manifest.unlink()
    holder = hold_lock(built)
    try:
        result = ask_within(30, QUESTION, settings=built)
    finally:
        stop(holder)
    assert isinstance(result.get("error"), MaliQAError) and "ingest is running" in str(result["error"])
    assert result["seconds"] < 10


def test_ask_during_an_ingest_answers_from_the_index_already_loaded(built: Settings) -> None:
    assert api.ask(QUESTION, settings=built).answered  # loaded
    IndexPaths(built.vectorstore_dir).manifest.unlink()  # an ingest began
    holder = hold_lock(built)
    try:
        result = ask_within(30, QUESTION, settings=built)
    finally:
        stop(holder)
    assert result.get("answer") is not None and result["answer"].answered, result


def test_first_question_on_a_fresh_clone_while_an_ingest_runs(tmp_path: Path) -> None:
    settings = settings_for(articles(tmp_path / "articles"), tmp_path / "store")
    holder = hold_lock(settings)
    try:
        result = ask_within(30, QUESTION, settings=settings)
    finally:
        stop(holder)
    assert "ingest is running" in str(result.get("error")) and result["seconds"] < 10


def test_changed_embedding_model_is_reported_not_rebuilt_by_ask(built: Settings) -> None:
    import json

    paths = IndexPaths(built.vectorstore_dir)
    manifest = json.loads(paths.manifest.read_text())
    paths.manifest.write_text(json.dumps({**manifest, "embed_model": "openai:other"}))
    with pytest.raises(IndexUnavailableError, match="ingest --rebuild"):
        api.ask(QUESTION, settings=built)
    assert json.loads(paths.manifest.read_text())["embed_model"] == "openai:other"


# -- finding 11: damaged BM25 files ------------------------------------------------------------------------

BM25_DAMAGE = {
    "ids.json deleted": lambda bm25: (bm25 / "ids.json").unlink(),
    "ids.json emptied": lambda bm25: (bm25 / "ids.json").write_text(""),
    "scores deleted": lambda bm25: (bm25 / "data.csc.index.npy").unlink(),
    "bm25 folder deleted": lambda bm25: shutil.rmtree(bm25),
    "params deleted": lambda bm25: (bm25 / "params.index.json").unlink(),
}


@pytest.mark.parametrize("damage", list(BM25_DAMAGE))
def test_damaged_bm25_names_the_rebuild_and_rebuild_repairs_it(damage: str, built: Settings) -> None:
    BM25_DAMAGE[damage](IndexPaths(built.vectorstore_dir).bm25)
    with pytest.raises(IndexUnavailableError, match="`mali-qa ingest"):
        api.ask(QUESTION, settings=built)
    ingest(built, rebuild=True)
    api.reset()
    assert api.ask(QUESTION, settings=built).answered


# -- finding 12: an empty folder ---------------------------------------------------------------------------


def test_ingest_of_an_empty_folder_refuses_to_remove_every_article(built: Settings, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IngestError, match="--allow-empty"):
        ingest(built, empty)
    assert stored_articles(built)[0] == set(ARTICLES)
    api.reset()
    assert api.ask(QUESTION, settings=built).answered
    report = ingest(built, empty, allow_empty=True)
    assert sorted(report.removed) == sorted(ARTICLES)
    api.reset()
    with pytest.raises(IndexUnavailableError, match="no articles"):
        api.ask(QUESTION, settings=built)


def test_ingest_of_an_empty_folder_on_a_fresh_store_names_the_fix(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "empty", tmp_path / "store")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestError, match="no articles"):
        ingest(settings)
    assert read_manifest(IndexPaths(settings.vectorstore_dir)) is None


# -- finding 14: another collection, a store that is a file, a read-only store -----------------------------


def test_another_collection_name_builds_its_own_index(built: Settings) -> None:
    other = built.with_(collection="mali_qa_other")
    report = ingest(other)
    assert sorted(report.added) == sorted(ARTICLES) and report.passages == 3
    api.reset()
    assert api.ask(QUESTION, settings=other).answered


def test_store_or_cache_that_is_a_file_names_the_setting(tmp_path: Path) -> None:
    folder = articles(tmp_path / "articles")
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(MaliQAError, match="MALI_QA_VECTORSTORE_DIR"):
        api.ask(QUESTION, settings=settings_for(folder, tmp_path / "file"))
    with pytest.raises(MaliQAError, match="MALI_QA_VECTORSTORE_DIR"):
        ingest(settings_for(folder, tmp_path / "file"))
    from mali_qa.store.embed import LocalMiniLMEmbedding

    with pytest.raises(MaliQAError, match="MALI_QA_CACHE_DIR"):
        LocalMiniLMEmbedding(cache_dir=tmp_path / "file" / "sub").embed(["Mali"])


def _read_only(store: Path, command: list[str]) -> list[str]:
    """`command` run with `store` mounted read-only (root: in a private mount namespace)."""
    if os.geteuid() != 0:
        return command
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, str(store), *command]


@pytest.mark.skipif(os.geteuid() == 0 and shutil.which("unshare") is None, reason="needs unshare as root")
def test_read_only_store_gives_one_line_naming_the_fix(built: Settings) -> None:
    store = Path(built.vectorstore_dir)
    if os.geteuid() != 0:
        for path in [store, *store.rglob("*")]:
            path.chmod(path.stat().st_mode & 0o555)
    env = {
        **os.environ,
        "MALI_QA_VECTORSTORE_DIR": str(store),
        "MALI_QA_SEEDS_DIR": str(built.seeds_dir),
        "MALI_QA_ENGINE": "offline",
    }
    outputs = []
    for args in (["ask", QUESTION], ["ingest", "--quiet"], ["ingest", "--rebuild", "--quiet"]):
        done = subprocess.run(
            _read_only(store, [sys.executable, "-m", "mali_qa.cli", *args]),
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
        )
        outputs.append(done)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 0 or (done.returncode == 1 and len(done.stderr.splitlines()) == 1), (
            done.stderr
        )
        assert done.returncode == 0 or "read-only" in done.stderr, done.stderr
    assert outputs[0].returncode == 0 or "--rebuild" not in outputs[0].stderr


@pytest.mark.slow
def test_a_damaged_model_cache_file_is_made_again(tmp_path: Path) -> None:
    """A corrupt ONNX file in MALI_QA_CACHE_DIR (a killed export, a full disk) gave a traceback."""
    from mali_qa.store.embed import LocalMiniLMEmbedding

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "all-MiniLM-L6-v2.onnx").write_bytes(b"\x00garbage\xff" * 512)
    assert LocalMiniLMEmbedding(cache_dir=cache).embed(["Wagner in Mali"]).shape == (1, 384)
