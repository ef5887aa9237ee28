"""The files of ours that the read path reads (`store.formats`): written and read back unchanged, refused
with an error naming the rebuild when their format differs; an index of an older stemmer refreshed by the
service without touching its vectors, and one whose passages an older version cut rebuilt by ingest."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from mali_qa.errors import IndexUnavailableError
from mali_qa.search.lexical import Bm25Index
from mali_qa.store.formats import (
    BM25_IDS,
    PASSAGE_FORMAT,
    STORE_FORMAT,
    read_articles,
    read_bm25,
    write_articles,
    write_bm25,
)
from mali_qa.types import Article

ARTICLES = [
    Article(
        id="b_wagner", title="Wagner in Mali", text="Wagner fighters arrived in Bamako.", date="2022-01-05"
    ),
    Article(
        id="a_france",
        title="France leaves",
        text="The last French soldiers left «Gao» in August.",
        outlet="AP",
    ),
]
PASSAGES = {
    "p1": "French troops left Timbuktu on December 14.",
    "p2": "The Wagner Group was owned by Yevgeny Prigozhin.",
    "p3": "Niger will host about 1,000 French troops in Niamey.",
}


def test_articles_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "articles.json"
    write_articles(path, ARTICLES)
    got = read_articles(path)
    assert list(got) == ["a_france", "b_wagner"]  # sorted by id
    assert got == {a.id: a for a in ARTICLES}


@pytest.mark.parametrize("damage", ["format", "missing", "truncated"])
def test_an_articles_file_of_another_format_names_the_rebuild(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "articles.json"
    write_articles(path, ARTICLES)
    if damage == "format":
        data = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps({**data, "format": STORE_FORMAT + 1}), encoding="utf-8")
    elif damage == "missing":
        path.unlink()
    else:
        path.write_text(path.read_text(encoding="utf-8")[:40], encoding="utf-8")
    with pytest.raises(IndexUnavailableError, match="mali-qa ingest --rebuild"):
        read_articles(path)


def test_bm25_round_trip_ranks_as_bm25s_does(tmp_path: Path) -> None:
    import bm25s
    import Stemmer

    folder = tmp_path / "bm25"
    write_bm25(folder, list(PASSAGES), list(PASSAGES.values()))
    assert read_bm25(folder).ids == ["p1", "p2", "p3"]
    index = Bm25Index(folder)
    stemmer = Stemmer.Stemmer("english")
    model = bm25s.BM25()
    model.index(bm25s.tokenize(list(PASSAGES.values()), stopwords="en", stemmer=stemmer, show_progress=False))
    for query in ("French troops", "Wagner owner", "Niamey"):
        rows, scores = model.retrieve(bm25s.tokenize(query, stemmer=stemmer, show_progress=False), k=3)
        expected = [
            (list(PASSAGES)[int(r)], round(float(s), 6))
            for r, s in zip(rows[0], scores[0], strict=True)
            if s > 0
        ]
        assert [(pid, round(score, 6)) for pid, score in index.search(query, 3)] == expected
    assert index.search("French troops", 3)[0][0] in ("p1", "p3")
    assert index.search("zzzz", 3) == [] and index.search("", 3) == []


def test_a_bm25_of_another_format_or_with_lost_ids_names_the_rebuild(tmp_path: Path) -> None:
    folder = tmp_path / "bm25"
    write_bm25(folder, list(PASSAGES), list(PASSAGES.values()))
    options = json.loads((folder / BM25_IDS).read_text(encoding="utf-8"))
    (folder / BM25_IDS).write_text(json.dumps({**options, "format": 0}), encoding="utf-8")
    with pytest.raises(IndexUnavailableError, match="format 0 .*mali-qa ingest --rebuild"):
        Bm25Index(folder)
    (folder / BM25_IDS).write_text(json.dumps({**options, "ids": ["p1"]}), encoding="utf-8")
    with pytest.raises(IndexUnavailableError, match="mali-qa ingest --rebuild"):
        Bm25Index(folder)


def test_no_passage_leaves_no_bm25_folder(tmp_path: Path) -> None:
    folder = tmp_path / "bm25"
    write_bm25(folder, list(PASSAGES), list(PASSAGES.values()))
    write_bm25(folder, [], [])
    assert not folder.exists() and not (tmp_path / "bm25.tmp").exists()


@pytest.mark.integration
def test_an_index_of_an_older_stemmer_is_refused_by_the_loader_and_refreshed_by_the_service(
    tmp_path: Path, seeds_dir: Path
) -> None:
    """As an older stemmer left it: term counts of another version and no articles file."""
    from mali_qa import service
    from mali_qa.config import Settings
    from mali_qa.ingest.write import ingest
    from mali_qa.search.index import IndexState
    from mali_qa.store.folder import IndexPaths
    from mali_qa.text import STEM_VERSION

    settings = Settings.from_env(env_file=os.devnull, seeds_dir=seeds_dir, vectorstore_dir=tmp_path / "store")
    ingest(settings)
    paths = IndexPaths(settings.vectorstore_dir)
    before = Bm25Index(paths.bm25).search("when did France leave Mali", 8)
    articles = read_articles(paths.articles)
    vocab = json.loads(paths.vocab.read_text(encoding="utf-8"))
    paths.vocab.write_text(json.dumps({**vocab, "version": STEM_VERSION - 1}), "utf-8")
    paths.articles.unlink()
    service.reset()
    with pytest.raises(IndexUnavailableError, match="mali-qa ingest"):
        IndexState(settings)
    state = service.open_index(settings)  # the service writes the files of this version again
    assert state.manifest["store_format"] == STORE_FORMAT
    assert [state.article(i) for i in state.article_ids()] == list(articles.values())
    assert state.bm25.search("when did France leave Mali", 8) == before
    assert not ingest(settings).changed
    service.reset()


@pytest.mark.integration
@pytest.mark.parametrize("older", [None, PASSAGE_FORMAT - 1])
def test_an_index_whose_passages_an_older_version_cut_is_refused_and_rebuilt_by_ingest(
    tmp_path: Path, seeds_dir: Path, older: int | None
) -> None:
    """Passages cut by an older version (format 1, or none): writing the files again would keep the old cut,
    so the loader and the service refuse the index, naming the rebuild, and `mali-qa ingest` rebuilds it."""
    from mali_qa import service
    from mali_qa.config import Settings
    from mali_qa.ingest.write import ingest
    from mali_qa.search.index import IndexState
    from mali_qa.store.folder import IndexPaths

    settings = Settings.from_env(env_file=os.devnull, seeds_dir=seeds_dir, vectorstore_dir=tmp_path / "store")
    ingest(settings)
    paths = IndexPaths(settings.vectorstore_dir)
    manifest = json.loads(paths.manifest.read_text(encoding="utf-8"))
    paths.manifest.write_text(json.dumps({**manifest, "store_format": older}), "utf-8")
    service.reset()
    refusal = f"format {older} .*mali-qa ingest --rebuild"
    with pytest.raises(IndexUnavailableError, match=refusal):
        IndexState(settings)
    with pytest.raises(IndexUnavailableError, match=r"older version of mali-qa.*run `mali-qa ingest`"):
        service.open_index(settings)  # format 1's metadata is refused first, naming the same mend
    assert json.loads(paths.manifest.read_text(encoding="utf-8"))["store_format"] == older  # not refreshed
    report = ingest(settings)
    assert report.rebuilt and len(report.added) == manifest["articles"]
    state = service.open_index(settings)
    assert state.manifest["store_format"] == STORE_FORMAT
    service.reset()


@pytest.mark.integration
def test_an_index_with_the_metadata_of_an_older_version_is_refused_naming_the_ingest_that_mends_it(
    tmp_path: Path, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As format 1 left the seeds: a spam footer's name as 002's outlet, a site's banner as 004's date, in the
    passages and docstore as well as the articles file. The service refuses it (no refresh of our files could
    mend the passages) and says to ingest; a plain ingest then rebuilds it (its passages are cut anew too)."""
    from mali_qa import service
    from mali_qa.config import Settings
    from mali_qa.ingest import write
    from mali_qa.ingest.corpus import Corpus, read_folder
    from mali_qa.store.chroma import chroma_client
    from mali_qa.store.folder import IndexPaths

    old = {
        "002_07d3930ec7cbf04e": {"outlet": "Kig News"},
        "004_49f779cc4835a65a": {"date": "Tuesday, October 19"},
    }

    def as_format_1(folder: Path) -> Corpus:
        corpus = read_folder(folder)
        return Corpus([dataclasses.replace(a, **old.get(a.id, {})) for a in corpus.articles], corpus.warnings)

    settings = Settings.from_env(env_file=os.devnull, seeds_dir=seeds_dir, vectorstore_dir=tmp_path / "store")
    paths = IndexPaths(settings.vectorstore_dir)
    with monkeypatch.context() as patched:
        patched.setattr(write, "read_folder", as_format_1)
        write.ingest(settings)
    for path, key in ((paths.manifest, "store_format"), (paths.articles, "format")):
        path.write_text(
            json.dumps({**json.loads(path.read_text(encoding="utf-8")), key: 1}), encoding="utf-8"
        )
    manifest = paths.manifest.read_text(encoding="utf-8")
    service.reset()
    with pytest.raises(IndexUnavailableError, match=r"older version of mali-qa.*run `mali-qa ingest`"):
        service.open_index(settings)
    assert paths.manifest.read_text(encoding="utf-8") == manifest  # refused, not half-mended
    report = write.ingest(settings)
    assert report.rebuilt and len(report.added) == 5
    state = service.open_index(settings)
    assert [(state.article(i).date, state.article(i).outlet) for i in sorted(old)] == [("", ""), ("", "")]
    passages = chroma_client(settings).get_collection(settings.collection).get(include=["metadatas"])
    stated = {
        (m["article_id"], m["date"], m["outlet"]) for m in passages["metadatas"] if m["article_id"] in old
    }
    assert stated == {(article_id, "", "") for article_id in old}
    service.reset()


def test_a_store_that_cannot_be_refreshed_names_the_rebuild(tmp_path: Path, seeds_dir: Path) -> None:
    """A manifest of this format with term counts of an older stemmer over a store that lost its
    collections: the refresh fails, and says to rebuild."""
    from mali_qa import service
    from mali_qa.config import Settings
    from mali_qa.text import STEM_VERSION

    store = tmp_path / "store"
    store.mkdir()
    manifest = {
        "embed_model": "local:all-MiniLM-L6-v2",
        "collection": "mali_qa",
        "articles": 1,
        "store_format": STORE_FORMAT,
    }
    (store / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (store / "vocab.json").write_text(json.dumps({"version": STEM_VERSION - 1}), encoding="utf-8")
    settings = Settings.from_env(env_file=os.devnull, seeds_dir=seeds_dir, vectorstore_dir=store)
    service.reset()
    with pytest.raises(IndexUnavailableError, match="damaged .*mali-qa ingest --rebuild"):
        service.open_index(settings)
    assert json.loads((store / "manifest.json").read_text(encoding="utf-8")) == manifest
