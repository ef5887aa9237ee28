"""The index: passages and vectors in Chroma (the only module that imports chromadb), BM25 and the article
docstore beside them in `vectorstore/`; ingest is incremental, locked, and never mixes embedding models."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.schema import BaseNode, Document, TextNode
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.core.vector_stores.utils import metadata_dict_to_node
from llama_index.vector_stores.chroma import ChromaVectorStore

from .chunk import PassageParser
from .config import Settings
from .corpus import read_folder
from .embed import embed_model_name, get_embed_model
from .errors import IndexUnavailableError, IngestError, IngestLockedError, MaliQAError
from .text import STEM_VERSION, content_stems, split_sentences
from .types import Article

log = logging.getLogger(__name__)

BATCH_ARTICLES = 32
#: While ingesting, the docstore is saved at most this often (saving it after every batch grows quadratically).
DOCSTORE_SAVE_SECONDS = 30.0
REBUILD_HINT = "run `mali-qa ingest --rebuild`"


@dataclass(frozen=True)
class IndexPaths:
    root: Path

    @property
    def chroma(self) -> Path:
        return self.root / "chroma"

    @property
    def docstore(self) -> Path:
        return self.root / "docstore.json"

    @property
    def bm25(self) -> Path:
        return self.root / "bm25"

    @property
    def vocab(self) -> Path:
        return self.root / "vocab.json"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def lock(self) -> Path:
        return self.root / ".ingest.lock"


@dataclass
class IngestReport:
    """What an ingest did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    articles: int = 0
    passages: int = 0
    new_passages: int = 0
    seconds: float = 0.0
    rebuilt: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)

    def summary(self) -> str:
        return (
            f"{self.articles} articles, {self.passages} passages: {len(self.added)} added, {len(self.updated)} "
            f"updated, {len(self.removed)} removed, {self.unchanged} unchanged in {self.seconds:.1f} s"
            + (f"; {len(self.warnings)} files skipped or repaired" if self.warnings else "")
        )


def _paths(settings: Settings) -> IndexPaths:
    return IndexPaths(Path(settings.vectorstore_dir))


def chroma_client(settings: Settings) -> Any:
    telemetry = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=telemetry
            )
        _paths(settings).chroma.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(_paths(settings).chroma), settings=telemetry)
    except MaliQAError:
        raise
    except Exception as exc:
        where = (
            f"the Chroma server at {settings.chroma_host}:{settings.chroma_port} (is it running?)"
            if settings.chroma_host
            else f"the index in {_paths(settings).chroma}"
        )
        raise IndexUnavailableError(f"cannot open {where}: {type(exc).__name__}; {REBUILD_HINT}") from exc


@contextlib.contextmanager
def ingest_lock(paths: IndexPaths, wait: float = 0.0) -> Iterator[None]:
    """One ingest at a time per index folder (an OS lock, released even when the process is killed)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with open(paths.lock, "w") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IngestLockedError(
                        f"another ingest is running on {paths.root}: wait for it to finish, then try again"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_manifest(paths: IndexPaths) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(paths.manifest.read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        return None


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def sentence_collection_name(settings: Settings) -> str:
    return f"{settings.collection}_sentences"


def sentence_ids(passage_id: str, n_sentences: int) -> list[str]:
    """Ids of the sentence vectors of a passage: `<passage id>/<j>` for its j-th sentence."""
    return [f"{passage_id}/{j}" for j in range(n_sentences)]


def _wipe(client: Any, settings: Settings, paths: IndexPaths) -> None:
    for name in (settings.collection, sentence_collection_name(settings)):
        with contextlib.suppress(Exception):
            client.delete_collection(name)
    for path in (paths.docstore, paths.vocab, paths.manifest):
        path.unlink(missing_ok=True)
    shutil.rmtree(paths.bm25, ignore_errors=True)


def _drop_local_store(paths: IndexPaths) -> None:
    """Delete the local Chroma folder, after closing this process's clients of it."""
    from chromadb.api.client import SharedSystemClient

    forget_loaded()
    SharedSystemClient.clear_system_cache()
    shutil.rmtree(paths.chroma, ignore_errors=True)


def _to_document(article: Article) -> Document:
    return Document(
        id_=article.id,
        text=article.text,
        metadata=article.metadata,
        excluded_embed_metadata_keys=list(article.metadata),
        excluded_llm_metadata_keys=list(article.metadata),
    )


def ingest(
    settings: Settings,
    folder: Path | None = None,
    *,
    rebuild: bool = False,
    progress: bool = False,
    lock_wait: float = 0.0,
) -> IngestReport:
    """Bring the index in line with the articles of `folder` (default: the seeds folder)."""
    started = time.perf_counter()
    paths = _paths(settings)
    folder = Path(folder or settings.seeds_dir)
    with ingest_lock(paths, wait=lock_wait):
        corpus = read_folder(folder)
        report = IngestReport(warnings=list(corpus.warnings), articles=len(corpus.articles))
        model_name = embed_model_name(settings)
        if rebuild and not settings.chroma_host:
            _drop_local_store(paths)  # a damaged store may not even open
        client = chroma_client(settings)
        manifest = read_manifest(paths)
        try:
            existing = client.get_collection(settings.collection)
            recorded = (existing.metadata or {}).get("embed_model")
        except Exception:
            existing, recorded = None, None
        if (
            rebuild
            or (existing is not None and recorded != model_name)
            or (manifest or {}).get("embed_model", model_name) != model_name
        ):
            if existing is not None and recorded != model_name and not rebuild:
                log.warning("the index was made with %s, not %s: rebuilding it", recorded, model_name)
            _wipe(client, settings, paths)
            report.rebuilt = True
        paths.manifest.unlink(missing_ok=True)  # the index is "being written" until a new manifest lands
        try:
            _sync(settings, paths, client, corpus.articles, report, progress)
        except MaliQAError:
            raise
        except Exception as exc:
            raise IngestError(f"indexing failed ({type(exc).__name__}: {exc}); {REBUILD_HINT}") from exc
        report.seconds = time.perf_counter() - started
        return report


def _sync(
    settings: Settings,
    paths: IndexPaths,
    client: Any,
    articles: list[Article],
    report: IngestReport,
    progress: bool,
) -> None:
    model_name = embed_model_name(settings)
    collection = client.get_or_create_collection(
        settings.collection, metadata={"embed_model": model_name, "hnsw:space": "cosine"}
    )
    sentences = client.get_or_create_collection(
        sentence_collection_name(settings), metadata={"embed_model": model_name, "hnsw:space": "cosine"}
    )
    docstore = (
        SimpleDocumentStore.from_persist_path(str(paths.docstore))
        if paths.docstore.exists()
        else SimpleDocumentStore()
    )
    vector_store = ChromaVectorStore(chroma_collection=collection)
    embed_model = get_embed_model(settings)
    known = {doc_id: h for h, doc_id in docstore.get_all_document_hashes().items()}
    documents = [_to_document(a) for a in articles]
    current = {d.id_ for d in documents}
    for doc_id in sorted(set(known) - current):
        vector_store.delete(doc_id)
        sentences.delete(where={"article_id": doc_id})
        docstore.delete_document(doc_id, raise_error=False)
        report.removed.append(doc_id)
    to_run = []
    for doc in documents:
        if doc.id_ not in known:
            report.added.append(doc.id_)
            to_run.append(doc)
        elif known[doc.id_] != doc.hash:
            sentences.delete(where={"article_id": doc.id_})
            report.updated.append(doc.id_)
            to_run.append(doc)
        else:
            report.unchanged += 1
    _drop_leftovers(collection, sentences, report.added)
    pipeline = IngestionPipeline(
        transformations=[PassageParser(), embed_model],
        docstore=docstore,
        vector_store=vector_store,
        docstore_strategy=DocstoreStrategy.UPSERTS,
        disable_cache=True,
    )
    bar = _progress_bar(len(to_run), progress)
    saved = float("-inf")  # the first batch is recorded at once, later ones every DOCSTORE_SAVE_SECONDS
    for i in range(0, len(to_run), BATCH_ARTICLES):
        batch = to_run[i : i + BATCH_ARTICLES]
        nodes = pipeline.run(documents=batch)
        _add_sentences(sentences, embed_model, nodes)
        report.new_passages += len(nodes)
        bar.update(len(batch))
        if time.monotonic() - saved > DOCSTORE_SAVE_SECONDS:  # a killed ingest then redoes little
            docstore.persist(str(paths.docstore))
            saved = time.monotonic()
    bar.close()
    if to_run or report.removed:
        docstore.persist(str(paths.docstore))
    report.passages = collection.count()
    if report.changed or not paths.bm25.exists() or _vocabulary_outdated(paths):
        _build_lexical(collection, paths)
    _write_json_atomic(
        paths.manifest,
        {
            "embed_model": model_name,
            "collection": settings.collection,
            "articles": len(articles),
            "passages": report.passages,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


def _drop_leftovers(collection: Any, sentences: Any, article_ids: list[str]) -> None:
    """Vectors of articles the docstore does not know: written by an ingest killed before it recorded
    them. Found with one query per thousand articles, and only when the collections hold anything."""
    if not article_ids or (collection.count() == 0 and sentences.count() == 0):
        return
    for i in range(0, len(article_ids), 1000):
        chunk = article_ids[i : i + 1000]
        for store, key in ((collection, "document_id"), (sentences, "article_id")):
            found = store.get(where={key: {"$in": chunk}}, include=[])["ids"]
            if found:
                store.delete(ids=found)


def _add_sentences(collection: Any, embed_model: Any, nodes: Sequence[BaseNode]) -> None:
    """One vector per sentence of each passage, so that an answer can weigh each sentence's meaning."""
    ids: list[str] = []
    texts: list[str] = []
    metadatas: list[dict[str, Any]] = []
    for node in nodes:
        text = node.get_content()
        start = int(node.metadata.get("start", 0))
        spans = split_sentences(text, offset=start)
        for sid, (s, e) in zip(sentence_ids(node.node_id, len(spans)), spans, strict=True):
            ids.append(sid)
            texts.append(text[s - start : e - start])
            metadatas.append({"article_id": node.metadata.get("article_id", ""), "start": s, "end": e})
    for i in range(0, len(ids), 1000):
        chunk = slice(i, i + 1000)
        vectors = embed_model.get_text_embedding_batch(texts[chunk])
        collection.upsert(ids=ids[chunk], embeddings=vectors, metadatas=metadatas[chunk])


def _progress_bar(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="article", desc="indexing", disable=not enabled or total == 0)


def all_nodes(collection: Any, batch: int = 5000) -> Iterator[TextNode]:
    """Every passage node stored in the collection, page by page."""
    offset = 0
    while True:
        got = collection.get(include=["documents", "metadatas"], limit=batch, offset=offset)
        if not got["ids"]:
            return
        for text, meta in zip(got["documents"], got["metadatas"], strict=True):
            node = metadata_dict_to_node(meta, text=text)
            yield node  # type: ignore[misc]
        offset += len(got["ids"])


def _build_lexical(collection: Any, paths: IndexPaths) -> None:
    """BM25 over every passage, and the document frequency of every stem, both persisted."""
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes: list[BaseNode] = list(all_nodes(collection))
    tmp = paths.bm25.with_name("bm25.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if nodes:
        bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=10, language="en")
        bm25.persist(str(tmp))
        shutil.rmtree(paths.bm25, ignore_errors=True)
        os.replace(tmp, paths.bm25)
    else:
        shutil.rmtree(paths.bm25, ignore_errors=True)
    _write_vocabulary(nodes, paths)


def _vocabulary_version(paths: IndexPaths) -> int | None:
    """The stemmer version that made the term counts; None when they are missing or unreadable."""
    try:
        return int(json.loads(paths.vocab.read_text(encoding="utf-8")).get("version", 0))
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def _vocabulary_outdated(paths: IndexPaths) -> bool:
    """Whether the term counts are missing, unreadable, or made by another version of the stemmer."""
    return _vocabulary_version(paths) != STEM_VERSION


def refresh_lexical(settings: Settings) -> None:
    """Count the terms and build BM25 again from the stored passages, under the ingest lock: after an
    upgrade changed the stemmer. The articles and their vectors are left as they are."""
    paths = _paths(settings)
    with ingest_lock(paths, wait=600):
        if _vocabulary_outdated(paths):
            log.info("counting the terms of %s again (the stemmer changed)", paths.root)
            _build_lexical(chroma_client(settings).get_collection(settings.collection), paths)


def _write_vocabulary(nodes: Sequence[BaseNode], paths: IndexPaths) -> dict[str, Any]:
    """How many passages hold each stem (with the article's headline), for weighing question terms."""
    df: Counter[str] = Counter()
    for node in nodes:
        title = node.metadata.get("title", "")
        df.update(set(content_stems(node.get_content()) + content_stems(title)))
    vocab = {"version": STEM_VERSION, "passages": len(nodes), "df": dict(df)}
    _write_json_atomic(paths.vocab, vocab)
    return vocab


class IndexState:
    """A loaded index, shared by every question of the process: Chroma, BM25, docstore and vocabulary."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.paths = _paths(settings)
        manifest = read_manifest(self.paths)
        if manifest is None:
            raise IndexUnavailableError(f"no finished index in {self.paths.root}: run `mali-qa ingest`")
        if manifest.get("embed_model") != embed_model_name(settings):
            raise IndexUnavailableError(
                f"the index was made with {manifest.get('embed_model')}, not {embed_model_name(settings)}: "
                f"{REBUILD_HINT}"
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
        from llama_index.retrievers.bm25 import BM25Retriever

        if not self.paths.bm25.exists():
            return None
        return BM25Retriever.from_persist_dir(str(self.paths.bm25), show_progress=False)

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


_states: dict[tuple[Any, ...], IndexState] = {}
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
    """The process's loaded index; built from the seeds first when missing (when `auto_build`)."""
    key = _key(settings)
    with _states_lock:
        state = _states.get(key)
        if state is not None and not state.is_stale():
            return state
        manifest = read_manifest(_paths(settings))
        if auto_build and (manifest is None or manifest.get("embed_model") != embed_model_name(settings)):
            log.info("building the index from %s (first use)", settings.seeds_dir)
            ingest(settings, lock_wait=600)
        elif auto_build and _vocabulary_version(_paths(settings)) not in (None, STEM_VERSION):
            refresh_lexical(settings)  # an upgrade changed the stemmer; a damaged file is an error instead
        state = IndexState(settings)
        _states[key] = state
        return state


def forget_loaded() -> None:
    """Drop every loaded index (tests, and after a rebuild in the same process)."""
    with _states_lock:
        _states.clear()
