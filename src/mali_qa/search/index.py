"""Reading the index: the loaded Chroma collections, docstore, BM25 and term counts of one index, shared by
every question of the process; built from the seeds on first use only when the folder holds no index."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from llama_index.core.schema import TextNode
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.core.vector_stores.utils import metadata_dict_to_node
from llama_index.vector_stores.chroma import ChromaVectorStore

from mali_qa import cache
from mali_qa.config import Settings
from mali_qa.errors import IndexUnavailableError, IngestLockedError, MaliQAError
from mali_qa.ingest.embed import embed_model_name, get_embed_model
from mali_qa.ingest.store import (
    REBUILD_HINT,
    IndexPaths,
    check_store_folder,
    chroma_client,
    ingest_running,
    paths_for,
    read_manifest,
    sentence_collection_name,
    store_exists,
    vocabulary_version,
)
from mali_qa.ingest.write import ingest, refresh_lexical
from mali_qa.text import STEM_VERSION
from mali_qa.types import Article

log = logging.getLogger(__name__)


class IndexState:
    """A loaded index, shared by every question of the process: Chroma, BM25, docstore and vocabulary."""

    def __init__(self, settings: Settings) -> None:
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
        if manifest.get("articles", 1) == 0:
            raise IndexUnavailableError(
                f"the index in {self.paths.root} holds no articles: add articles to {settings.seeds_dir} "
                "and run `mali-qa ingest`"
            )
        self.manifest = manifest
        self.stamp = self.paths.manifest.stat().st_mtime_ns
        try:
            client = chroma_client(settings)
            self.collection = client.get_collection(settings.collection)
            self.vector_store = ChromaVectorStore(chroma_collection=self.collection)
            self.sentences = client.get_collection(sentence_collection_name(settings))
            self.n_sentences = self.sentences.count()
            self.docstore = SimpleDocumentStore.from_persist_path(str(self.paths.docstore))
            vocab = json.loads(self.paths.vocab.read_text(encoding="utf-8"))
            if vocab.get("version") != STEM_VERSION:
                raise IndexUnavailableError(
                    f"the term counts in {self.paths.vocab} were made by an older version: run `mali-qa ingest`"
                )
            self.df: dict[str, int] = vocab["df"]
            self.n_passages = int(vocab["passages"])
            self.bm25 = self._load_bm25()
        except MaliQAError:
            raise
        except Exception as exc:
            raise IndexUnavailableError(
                f"the index in {self.paths.root} is damaged ({type(exc).__name__}): {REBUILD_HINT}"
            ) from exc
        self.embed_model = get_embed_model(settings)
        self._articles: dict[str, Article] = {}
        self._lock = threading.Lock()

    def _load_bm25(self) -> Any:
        """The persisted BM25 retriever, checked: it must hold every passage and answer a query."""
        from llama_index.retrievers.bm25 import BM25Retriever

        if not self.paths.bm25.is_dir():
            raise IndexUnavailableError(f"the BM25 index {self.paths.bm25} is missing: {REBUILD_HINT}")
        bm25 = BM25Retriever.from_persist_dir(str(self.paths.bm25), show_progress=False)
        if len(getattr(bm25, "corpus", None) or []) != self.n_passages:
            raise IndexUnavailableError(
                f"the BM25 index {self.paths.bm25} does not hold the {self.n_passages} passages: {REBUILD_HINT}"
            )
        bm25.retrieve("mali")  # a damaged part fails here, not in the middle of a question
        return bm25

    def passages_by_id(self, ids: list[str]) -> list[TextNode]:
        """Passage nodes in the order of `ids` (missing ones left out)."""
        if not ids:
            return []
        got = self.collection.get(ids=ids, include=["documents", "metadatas"])
        nodes = {
            i: metadata_dict_to_node(m, text=t)
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        return [nodes[i] for i in ids if i in nodes]  # type: ignore[misc]

    def sentence_vectors(self, ids: list[str]) -> dict[str, Any]:
        """Stored sentence vectors by id (missing ids are left out)."""
        if not ids:
            return {}
        got = self.sentences.get(ids=ids, include=["embeddings"])
        return dict(zip(got["ids"], got["embeddings"], strict=True))

    def is_stale(self) -> bool:
        try:
            return self.paths.manifest.stat().st_mtime_ns != self.stamp
        except OSError:
            return True

    def article(self, article_id: str) -> Article:
        with self._lock:
            if article_id not in self._articles:
                doc = self.docstore.get_document(article_id, raise_error=False)
                if doc is None:
                    raise IndexUnavailableError(
                        f"article {article_id!r} is not in the index: run `mali-qa ingest`"
                    )
                meta = doc.metadata
                self._articles[article_id] = Article(
                    id=article_id,
                    title=meta.get("title", article_id),
                    text=doc.get_content(),
                    date=meta.get("date", ""),
                    outlet=meta.get("outlet", ""),
                )
            return self._articles[article_id]

    def article_ids(self) -> list[str]:
        return sorted(doc_id for doc_id in self.docstore.get_all_document_hashes().values())


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


def load_index(settings: Settings, *, auto_build: bool = True) -> IndexState:
    """The process's loaded index. Built from the seeds first only when the folder holds no index at all
    (and `auto_build`); never while an ingest runs (the index already loaded, if any, goes on answering)
    and never over an unfinished or incompatible store (the error names the fix)."""
    key = _key(settings)
    paths = paths_for(settings)
    with _states_lock:
        state = _states.get(key)
        if state is not None and not state.is_stale():
            return state
        check_store_folder(paths)
        if read_manifest(paths) is None:
            if ingest_running(paths):
                if state is not None:
                    return state  # the ingest rewrites the index: answer from the loaded one until it ends
                raise IngestLockedError(_running(paths))
            if auto_build and not store_exists(paths):
                log.info("building the index from %s (first use)", settings.seeds_dir)
                try:
                    ingest(settings, lock_wait=0)
                except IngestLockedError:
                    raise IngestLockedError(_running(paths)) from None
        elif auto_build and vocabulary_version(paths) not in (None, STEM_VERSION):
            try:  # an upgrade changed the stemmer; a damaged file is an error instead
                refresh_lexical(settings)
            except IngestLockedError:
                raise IngestLockedError(_running(paths)) from None
        state = IndexState(settings)
        _states[key] = state
        return state


def _running(paths: IndexPaths) -> str:
    return f"an ingest is running on {paths.root}: ask again when it has finished"
