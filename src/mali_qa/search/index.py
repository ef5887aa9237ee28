"""Reading the index: the loaded Chroma collections, BM25, term counts and (when a page asks for an article)
the articles of one index, shared by every question of the process. It never writes: a missing or outdated
index is an error naming the fix (the service decides to build one). Answering imports neither llama-index
nor its node types: a new process loads only what the first answer needs."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mali_qa import cache
from mali_qa.config import WARM_UP_QUESTION, Settings
from mali_qa.errors import IndexUnavailableError, IngestLockedError, MaliQAError
from mali_qa.search.lexical import Bm25Index
from mali_qa.search.vectors import ChromaSearch, MemorySearch, StoredPassage, VectorSearch
from mali_qa.store.chroma import chroma_client, forget_chroma_client, sentence_collection_name
from mali_qa.store.folder import (
    REBUILD_HINT,
    IndexPaths,
    check_store_folder,
    ingest_running,
    paths_for,
    read_manifest,
    running_message,
)
from mali_qa.store.formats import STORE_FORMAT, damaged_files, read_articles
from mali_qa.store.minilm import embed_model_name, shared_minilm
from mali_qa.text import STEM_VERSION
from mali_qa.types import Article

log = logging.getLogger(__name__)

#: Seconds a process with no index loaded waits for a running ingest to finish writing its files, when the
#: files it finds are half written.
INGEST_WAIT = 10.0


class IndexState:
    """A loaded index, shared by every question of the process: Chroma, BM25, articles and vocabulary."""

    def __init__(self, settings: Settings, *, fresh_client: bool = False) -> None:
        """`fresh_client`: a new Chroma client, not the process's (which another process's ingest made stale)."""
        self.settings = settings
        self.paths = paths_for(settings)
        manifest = read_manifest(self.paths)
        if manifest is None:
            raise IndexUnavailableError(f"no finished index in {self.paths.root}: run `mali-qa ingest`")
        if manifest.get("embed_model") != embed_model_name(settings):
            raise IndexUnavailableError(
                f"the index was made with {manifest.get('embed_model')}, not {embed_model_name(settings)}: "
                f"{REBUILD_HINT}"
            )
        if manifest.get("collection", settings.collection) != settings.collection:
            raise IndexUnavailableError(
                f"the index in {self.paths.root} holds the collection {manifest.get('collection')!r}, not "
                f"{settings.collection!r} (MALI_QA_COLLECTION): run `mali-qa ingest`"
            )
        if manifest.get("store_format") != STORE_FORMAT:
            raise IndexUnavailableError(
                f"the index in {self.paths.root} is in format {manifest.get('store_format')} of the store, and "
                f"this version of mali-qa reads format {STORE_FORMAT}: {REBUILD_HINT}"
            )
        if manifest.get("articles", 1) == 0:
            raise IndexUnavailableError(
                f"the index in {self.paths.root} holds no articles: add articles to {settings.seeds_dir} "
                "and run `mali-qa ingest`"
            )
        self.manifest = manifest
        self.stamp = self.paths.manifest.stat().st_mtime_ns
        damaged = damaged_files(self.paths, manifest)
        if damaged:  # or half written by a running ingest: `load_index` waits for it
            raise IndexUnavailableError(
                f"{', '.join(damaged)} in {self.paths.root} differ from the manifest (damaged or missing): run "
                "`mali-qa ingest` (it writes them again)"
            )
        try:
            if fresh_client:
                forget_chroma_client(settings)
            client = chroma_client(settings)
            self.collection = client.get_collection(settings.collection)
            self.sentences = client.get_collection(sentence_collection_name(settings))
            self.n_sentences = self.sentences.count()
            vocab = json.loads(self.paths.vocab.read_text(encoding="utf-8"))
            if vocab.get("version") != STEM_VERSION:
                raise IndexUnavailableError(
                    f"the term counts in {self.paths.vocab} were made by an older version: run `mali-qa ingest`"
                )
            self.df: dict[str, int] = vocab["df"]
            self.n_passages = int(vocab["passages"])
            #: the articles' words with their counts, for typo repair (None: an index of an older version)
            self.words: dict[str, int] | None = vocab.get("words")
            self.bm25 = self._load_bm25()
            self.search: VectorSearch = self._vector_search(set(self.bm25.ids))
        except MaliQAError:
            raise
        except Exception as exc:
            raise IndexUnavailableError(
                f"the index in {self.paths.root} is damaged ({type(exc).__name__}): {REBUILD_HINT}"
            ) from exc
        self.embed_query = query_embedder(settings)
        self._articles: dict[str, Article] | None = None
        self._lock = threading.Lock()

    @property
    def embed_model(self) -> Any:
        """The llama-index embedding model of this index (for texts other than questions; imports llama-index)."""
        from mali_qa.store.embed import get_embed_model

        return get_embed_model(self.settings)

    def _load_bm25(self) -> Bm25Index:
        """The persisted BM25, checked: it must hold every passage and answer a query."""
        if not self.paths.bm25.is_dir():
            raise IndexUnavailableError(f"the BM25 index {self.paths.bm25} is missing: {REBUILD_HINT}")
        bm25 = Bm25Index(self.paths.bm25)
        if bm25.size != self.n_passages:
            raise IndexUnavailableError(
                f"the BM25 index {self.paths.bm25} does not hold the {self.n_passages} passages: {REBUILD_HINT}"
            )
        bm25.search(WARM_UP_QUESTION, 1)  # a damaged part fails here, not in the middle of a question
        return bm25

    def _vector_search(self, allowed: set[str]) -> VectorSearch:
        """Exact search in memory for an index of at most `memory_vectors` vectors, else Chroma's HNSW; both
        see only the passages of this index's BM25 (an ingest adding vectors meanwhile is not seen)."""
        if self.n_passages + self.n_sentences <= self.settings.memory_vectors:
            search = MemorySearch(self.collection, self.sentences, allowed)
            if search.missing:
                message = f"{search.missing} passages of the index in {self.paths.root} are gone from Chroma"
                if ingest_running(self.paths):  # being replaced: `load_index` waits for the ingest
                    raise IndexUnavailableError(f"{message}: an ingest is replacing them")
                log.warning("%s: run `mali-qa ingest` to repair it", message)
            return search
        return ChromaSearch(self.collection, self.sentences, self.n_passages, self.n_sentences, allowed)

    def passages_by_id(self, ids: list[str]) -> list[StoredPassage]:
        """Stored passages in the order of `ids` (missing ones left out)."""
        return self.search.passages(ids)

    def sentence_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored sentence vectors by id (missing ids are left out)."""
        return self.search.sentence_vectors(ids)

    def is_stale(self) -> bool:
        try:
            return self.paths.manifest.stat().st_mtime_ns != self.stamp
        except OSError:
            return True

    def _all_articles(self) -> dict[str, Article]:
        """The indexed articles (their file, read once, when first asked for; the lock held)."""
        if self._articles is None:
            self._articles = read_articles(self.paths.articles)
        return self._articles

    def article(self, article_id: str) -> Article:
        with self._lock:
            article = self._all_articles().get(article_id)
        if article is None:
            raise IndexUnavailableError(f"article {article_id!r} is not in the index: run `mali-qa ingest`")
        return article

    def article_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._all_articles())


_states: dict[tuple[Any, ...], IndexState] = cache.register("loaded indexes")
_states_lock = threading.Lock()


def _key(settings: Settings) -> tuple[Any, ...]:
    return (
        str(settings.vectorstore_dir),
        settings.collection,
        settings.chroma_host,
        settings.chroma_port,
        embed_model_name(settings),
    )


def query_embedder(settings: Settings) -> Callable[[str], np.ndarray]:
    """The question's vector: the process's MiniLM run directly (no framework on the way), or OpenAI's."""
    if settings.embeddings == "local":
        model = shared_minilm(settings.cache_dir, settings.embed_threads)
        return lambda text: model.embed([text])[0].astype(np.float32)

    def openai_vector(text: str) -> np.ndarray:
        from mali_qa.store.embed import get_embed_model

        return np.asarray(get_embed_model(settings).get_query_embedding(text), dtype=np.float32)

    return openai_vector


def loaded_index(settings: Settings) -> IndexState | None:
    """The process's loaded index when it is still current (nothing is read but the manifest's date)."""
    with _states_lock:
        state = _states.get(_key(settings))
        return state if state is not None and not state.is_stale() else None


def load_index(settings: Settings) -> IndexState:
    """The process's loaded index, loaded again (with a new Chroma client) when another ingest has finished:
    while an ingest runs, the index already loaded (if any) goes on answering, and so does it when the new
    one cannot be loaded. A process with no index loaded reads the last finished one, waiting up to
    INGEST_WAIT seconds for a running ingest that is writing its files. An unfinished, missing or
    incompatible index is an error naming the fix (building one is the service's decision:
    `service.open_index`)."""
    key = _key(settings)
    paths = paths_for(settings)
    with _states_lock:
        state = _states.get(key)
        if state is not None and not state.is_stale():
            return state
        check_store_folder(paths)
        if state is not None and ingest_running(paths):
            return state  # the ingest rewrites the index: answer from the loaded one until it ends
        if state is None and read_manifest(paths) is None and ingest_running(paths):
            raise IngestLockedError(running_message(paths))
        log.debug("loading the index in %s (collection %s)", paths.root, settings.collection)
        try:
            loaded = _load(settings, fresh_client=state is not None)
        except MaliQAError as exc:
            if state is None:
                raise
            log.warning("the new index cannot be loaded (%s): answering from the one loaded before", exc)
            state.stamp = _stamp(paths)  # tried again when the manifest changes again
            return state
        _states[key] = loaded
        return loaded


def _stamp(paths: IndexPaths) -> int:
    try:
        return paths.manifest.stat().st_mtime_ns
    except OSError:
        return -1


def _load(settings: Settings, *, fresh_client: bool) -> IndexState:
    """The index, waiting for a running ingest when its files are half written."""
    paths = paths_for(settings)
    deadline = time.monotonic() + INGEST_WAIT
    while True:
        try:
            return IndexState(settings, fresh_client=fresh_client)
        except IndexUnavailableError:
            if not ingest_running(paths):
                raise
        if time.monotonic() > deadline:
            raise IngestLockedError(running_message(paths))
        time.sleep(0.2)
        fresh_client = True
