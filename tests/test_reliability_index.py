"""Round 2 of the reliability work (issue 27), the index: a running process picks up another process's
ingest, writes go to Chroma in batches it accepts, a failed or damaged ingest never takes a working index
offline, ingest checks its files against the manifest's checksums, an exact identifier survives fusion, and
hidden HTML is not indexed."""

from __future__ import annotations

import errno
import os
import random
import re
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mali_qa import service as api
from mali_qa.config import Settings
from mali_qa.errors import IndexUnavailableError, IngestError
from mali_qa.ingest import write
from mali_qa.ingest.corpus import parse_article
from mali_qa.ingest.docstore import docstore_path
from mali_qa.ingest.write import ingest
from mali_qa.store.chroma import chroma_client
from mali_qa.store.folder import IndexPaths, read_manifest

HIDDEN_HTML = """<html><head><title>Convoys reach Gao</title></head><body><article>
<h1>Convoys reach Gao</h1>
<p>The first convoy of the dry season reached Gao on Monday after a week on the road from Bamako.</p>
<div hidden><p>PLANTED-HIDDEN-ONE: the hidden division says the convoy carried gold bars.</p></div>
<template><p>PLANTED-TEMPLATE: the template says the convoy was turned back at Mopti.</p></template>
<noscript><p>PLANTED-NOSCRIPT: the noscript block says the drivers went on strike.</p></noscript>
<p style="color: red; display : none">PLANTED-STYLE: the invisible paragraph says the road was closed.</p>
<div aria-hidden="true"><p>PLANTED-ARIA: the aria-hidden block says a bridge collapsed.</p></div>
<p>Local traders said prices of rice and millet fell in the market the day after the trucks arrived.</p>
<p>The governor thanked the drivers and said a second convoy would leave Bamako within the month.</p>
</article></body></html>"""


def test_hidden_html_is_not_indexed_as_text() -> None:
    article = parse_article("convoys", HIDDEN_HTML, ".html")
    assert "reached Gao on Monday" in article.text
    assert "second convoy would leave Bamako" in article.text
    assert "PLANTED" not in article.text, article.text


# --- findings 1, 2 and 13: a real index in a temp folder ----------------------------------------------------

ARTICLES = {
    "alpha": "Alpha headline about Mali\n\nFrench troops left Timbuktu on December 14. Russian trainers arrived.",
    "beta": "Beta headline about Wagner\n\nThe Wagner Group was owned by Yevgeny Prigozhin. He was killed in August.",
    "gamma": "Gamma headline about Niger\n\nNiger will host about 1,000 French troops in Niamey after the exit.",
}
QUESTION = "Who owned the Wagner Group?"
NEW_ARTICLE = (
    "Delta headline about Kidal\n\nThe Zorblax bridge at Kidal was opened by engineer Amadou Quenzel in "
    "March. Quenzel said the Zorblax bridge carries 300 trucks a day."
)
NEW_QUESTION = "Who opened the Zorblax bridge?"


def write_articles(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in ARTICLES.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


def settings_for(folder: Path, store: Path) -> Settings:
    return Settings.from_env(env_file=os.devnull, seeds_dir=folder, vectorstore_dir=store)


@pytest.fixture
def built(tmp_path: Path) -> Iterator[Settings]:
    settings = settings_for(write_articles(tmp_path / "articles"), tmp_path / "store")
    ingest(settings)
    api.reset()
    yield settings
    api.reset()


def answers_from(settings: Settings, question: str) -> set[str]:
    """The articles a reply cites: an answer, or the closest passages (an engine unsure of an invented ledger
    still finds the sentence; what is checked here is that the article is indexed and searched)."""
    answer = api.ask(question, settings=settings)
    assert answer.kind in ("answer", "passages"), answer
    return {c.source for c in answer.citations}


def add_new_article(settings: Settings) -> None:
    (Path(settings.seeds_dir) / "delta.txt").write_text(NEW_ARTICLE, encoding="utf-8")


@pytest.mark.integration
def test_a_loaded_index_picks_up_an_ingest_from_another_process(built: Settings) -> None:
    assert "beta" in answers_from(built, QUESTION)  # this process has the index loaded
    add_new_article(built)
    env = {
        **os.environ,
        "MALI_QA_SEEDS_DIR": str(built.seeds_dir),
        "MALI_QA_VECTORSTORE_DIR": str(built.vectorstore_dir),
    }
    errors: list[BaseException] = []
    done = threading.Event()

    def keep_asking() -> None:  # questions while the other process ingests: never an error
        while not done.is_set():
            try:
                answers_from(built, QUESTION)
            except BaseException as exc:  # noqa: BLE001 - recorded, asserted below
                errors.append(exc)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        run = subprocess.run(
            [sys.executable, "-m", "mali_qa.cli", "ingest"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        done.set()
        asker.join(60)
    assert run.returncode == 0, run.stderr
    assert not errors, errors[:3]
    assert "delta" in answers_from(built, NEW_QUESTION)
    assert "beta" in answers_from(built, QUESTION)


class ChromaLimit:
    """Chroma's batch limit brought down to `size` (its Rust side refuses a larger batch, as it does at 5,461)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, size: int) -> None:
        from chromadb.api.rust import RustBindingsAPI

        self.largest = 0
        monkeypatch.setattr(RustBindingsAPI, "get_max_batch_size", lambda _self: size)
        for name in ("_add", "_upsert"):
            original = getattr(RustBindingsAPI, name)

            def checked(api_self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                ids = kwargs.get("ids") or next(a for a in args if isinstance(a, list))
                self.largest = max(self.largest, len(ids))
                if len(ids) > size:
                    raise ValueError(f"Batch size of {len(ids)} is greater than max batch size of {size}")
                return _original(api_self, *args, **kwargs)

            monkeypatch.setattr(RustBindingsAPI, name, checked)


def long_article(n: int, fact_at: int) -> str:
    paragraphs = [
        f"Paragraph {i} of the long report: the patrol from Gao counted {i * 3} trucks on the road to the north, "
        f"and the drivers said the checkpoint at mile {i} was calm that morning."
        for i in range(n)
    ]
    paragraphs[fact_at] = (
        "The quartermaster Ibrahim Vantorek signed for 812 sacks of millet at the depot in Ansongo."
    )
    return "Long report from the road\n\n" + "\n\n".join(paragraphs)


@pytest.mark.integration
def test_an_article_with_more_passages_than_a_chroma_batch_indexes(
    built: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = ChromaLimit(monkeypatch, 7)
    (Path(built.seeds_dir) / "long.txt").write_text(long_article(40, 33), encoding="utf-8")
    report = ingest(built)
    assert report.added == ["long"] and report.new_passages > 7 and limit.largest <= 7
    assert "long" in answers_from(built, "Who signed for the sacks of millet at Ansongo?")


@pytest.mark.integration
@pytest.mark.slow
def test_a_two_megabyte_article_of_ten_thousand_paragraphs_indexes(tmp_path: Path) -> None:
    paragraphs = [
        f"Note {i}: on day {i} the depot at Gao logged {i * 7} sacks of rice and {i % 97} trucks from the "
        f"south, and the clerk on duty wrote that the convoy escort of patrol {i % 13} reported the road "
        f"open, the wells full and the market at the river crossing busy."
        for i in range(10_000)
    ]
    paragraphs[7_777] = (
        "The quartermaster Ibrahim Vantorek signed for 812 sacks of millet at Ansongo, the largest delivery "
        "of the season, and the clerk on duty wrote that the escort reported the road open and the wells full."
    )
    folder = write_articles(tmp_path / "articles")
    (folder / "huge.txt").write_text("The depot ledger\n\n" + "\n\n".join(paragraphs), encoding="utf-8")
    assert (folder / "huge.txt").stat().st_size > 1_900_000  # under the 2 MB upload and 5 MB file limits
    settings = settings_for(folder, tmp_path / "store")
    report = ingest(settings)
    assert "huge" in report.added and report.passages > 5_461, report.summary()
    assert "huge" in answers_from(settings, "Who signed for 812 sacks of millet at Ansongo?")


@pytest.mark.integration
def test_an_article_over_chromas_real_batch_limit_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chroma's real limit (5,461 for a local store), with constant vectors so that it runs in seconds: the
    batching is what is checked here, the bundled model by the slow test above."""
    from llama_index.core.embeddings import MockEmbedding

    monkeypatch.setattr(write, "get_embed_model", lambda _settings: MockEmbedding(embed_dim=384))
    folder = write_articles(tmp_path / "articles")
    (folder / "long.txt").write_text(long_article(6_000, 4_321), encoding="utf-8")
    settings = settings_for(folder, tmp_path / "store")
    client = chroma_client(settings)
    assert client.get_max_batch_size() < 6_000
    report = ingest(settings)
    assert "long" in report.added and report.passages > 6_000, report.summary()
    assert client.get_collection(settings.collection).count() == report.passages
    from mali_qa.search.lexical import Bm25Index

    top = Bm25Index(IndexPaths(settings.vectorstore_dir).bm25).search("Vantorek millet Ansongo", 1)
    assert top and top[0][0].startswith("long#")


def fail_in_the_writer(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    """A fault in the middle of the writer: after the vectors of the first batch were written."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise exc

    monkeypatch.setattr(write, "write_bm25", broken)


@pytest.mark.integration
@pytest.mark.parametrize("rebuild", [False, True])
def test_a_failing_ingest_leaves_the_old_index_answering(
    rebuild: bool, built: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_new_article(built)
    fail_in_the_writer(monkeypatch, RuntimeError("injected fault"))
    with pytest.raises(IngestError) as failure:
        ingest(built, rebuild=rebuild)
    if rebuild:
        assert "--rebuild" not in str(failure.value), failure.value
    monkeypatch.undo()
    api.reset()  # a fresh process
    assert read_manifest(IndexPaths(built.vectorstore_dir)) is not None
    assert "beta" in answers_from(built, QUESTION)
    ingest(built)  # the next ingest completes the work
    api.reset()
    assert "delta" in answers_from(built, NEW_QUESTION)


@pytest.mark.integration
def test_an_upload_that_cannot_be_indexed_is_removed(
    built: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mali_qa.library import add_article

    fail_in_the_writer(monkeypatch, RuntimeError("injected fault"))
    with pytest.raises(IngestError):
        add_article("delta.txt", NEW_ARTICLE.encode(), built)
    assert sorted(p.name for p in Path(built.seeds_dir).iterdir()) == ["alpha.txt", "beta.txt", "gamma.txt"]
    monkeypatch.undo()
    api.reset()
    assert "beta" in answers_from(built, QUESTION)


@pytest.mark.integration
def test_a_full_disk_says_so_and_leaves_the_old_index_answering(
    built: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_new_article(built)
    fail_in_the_writer(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(IngestError) as failure:
        ingest(built)
    assert "disk" in str(failure.value) and "full" in str(failure.value), failure.value
    assert "--rebuild" not in str(failure.value)
    monkeypatch.undo()
    api.reset()
    assert "beta" in answers_from(built, QUESTION)


@pytest.mark.integration
def test_a_damaged_docstore_does_not_take_a_working_index_offline(built: Settings) -> None:
    paths = IndexPaths(built.vectorstore_dir)
    docstore_path(paths).write_text('{"docstore/data": {"alpha": ', encoding="utf-8")
    add_new_article(built)
    try:
        report = ingest(built)
    except IngestError:
        report = None
    api.reset()
    assert read_manifest(paths) is not None
    assert "beta" in answers_from(built, QUESTION)
    assert report is not None and any("docstore" in w for w in report.warnings), report
    assert "delta" in answers_from(built, NEW_QUESTION)


def bm25_answers(settings: Settings) -> list[list[tuple[str, float]]]:
    from mali_qa.search.lexical import Bm25Index

    bm25 = Bm25Index(IndexPaths(settings.vectorstore_dir).bm25)
    return [bm25.search(q, 3) for q in (QUESTION, "French troops Timbuktu", "Niger Niamey troops")]


def flip_bits(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) - 8, len(data)):  # the end of the array: values, not the header
        data[i] ^= 0b0101_0101
    path.write_bytes(bytes(data))


@pytest.mark.integration
@pytest.mark.parametrize("damage", ["flipped bits", "garbage"])
def test_damaged_bm25_files_are_found_by_the_loader_and_repaired_by_ingest(
    damage: str, built: Settings
) -> None:
    paths = IndexPaths(built.vectorstore_dir)
    expected = bm25_answers(built)
    for path in sorted(paths.bm25.iterdir()):
        if damage == "garbage":
            path.write_bytes(b"\x00garbage\xff" * 10)
        elif path.name == "data.csc.index.npy":
            flip_bits(path)
    api.reset()
    with pytest.raises(IndexUnavailableError) as refused:
        api.ask(QUESTION, settings=built)
    assert "mali-qa ingest" in str(refused.value)
    report = ingest(built)
    assert any("bm25" in w for w in report.warnings), report.summary()
    api.reset()
    assert bm25_answers(built) == expected
    assert "beta" in answers_from(built, QUESTION)


# --- finding 6: an exact identifier survives fusion -----------------------------------------------------


class FakeCollection:
    """What MemorySearch reads of a Chroma collection: ids, texts, metadata and vectors."""

    def __init__(self, ids: list[str], texts: list[str], vectors: np.ndarray) -> None:
        self.ids, self.texts, self.vectors = ids, texts, vectors

    def get(self, include: list[str]) -> dict[str, Any]:
        metas = [
            {"article_id": i.split("#")[0], "start": 0, "end": len(t)}
            for i, t in zip(self.ids, self.texts, strict=True)
        ]
        return {"ids": self.ids, "documents": self.texts, "metadatas": metas, "embeddings": self.vectors}


def digit_blind_vector(text: str) -> np.ndarray:
    """A small fake embedder that, like a sentence model, barely tells one number from another: a hashed
    bag of the words without digits."""
    vector = np.zeros(64, dtype=np.float32)
    for word in re.findall(r"[a-z]+", text.lower()):
        vector[zlib.crc32(word.encode()) % 64] += 1.0
    return vector


class NotesIndex:
    """An IndexState over generated one-sentence notes: real BM25 files, fake vectors searched in memory."""

    def __init__(self, folder: Path, notes: dict[str, str]) -> None:
        from mali_qa.search.lexical import Bm25Index
        from mali_qa.search.vectors import MemorySearch
        from mali_qa.store.formats import write_bm25

        ids, texts = list(notes), list(notes.values())
        write_bm25(folder, ids, texts)
        self.bm25 = Bm25Index(folder)
        vectors = np.stack([digit_blind_vector(t) for t in texts])
        sentences = FakeCollection([f"{i}/0" for i in ids], texts, vectors)
        self.search = MemorySearch(FakeCollection(ids, texts, vectors), sentences, set(ids))
        self.embed_query = digit_blind_vector

    def passages_by_id(self, ids: list[str]) -> Any:
        return self.search.passages(ids)

    def sentence_vectors(self, ids: list[str]) -> Any:
        return self.search.sentence_vectors(ids)


def test_an_exact_identifier_that_bm25_finds_first_stays_in_the_fused_top(tmp_path: Path) -> None:
    from mali_qa.search.retrieve import HybridRetriever

    rng = random.Random(27)
    towns = ["Gao", "Timbuktu", "Mopti", "Kidal", "Menaka", "Segou", "Kayes", "Sikasso"]
    notes = {
        f"note{c}#0000": f"Convoy {c} brought food aid to {rng.randint(10, 999)} families in "
        f"{rng.choice(towns)} on day {rng.randint(1, 365)}."
        for c in range(3000, 6000)
    }
    state = NotesIndex(tmp_path / "bm25", notes)
    for convoy in (4321, 3007, 5999):
        question = f"How many families received food aid from convoy {convoy}?"
        assert state.bm25.search(question, 1)[0][0] == f"note{convoy}#0000"  # BM25's first hit
        for top_k in (1, 5, 14):
            found = [p.id for p in HybridRetriever(state, top_k).search(question)]  # type: ignore[arg-type]
            assert len(found) == top_k and f"note{convoy}#0000" in found, (convoy, top_k, found)
    # a question without an identifier is fused as before: no passage is forced in
    plain = HybridRetriever(state, 5).search("Which convoy brought food aid to Kidal?")  # type: ignore[arg-type]
    assert len(plain) == 5
