"""Writing the index: bring Chroma (passage and sentence vectors), the docstore, the articles, BM25 and the
term counts in line with a folder of articles; incremental, locked, and never mixing embedding models. The
docstore is llama-index's, persisted and read through its own API by this module alone; the read path reads
the files of ours this module writes (`store.formats`)."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.schema import BaseNode, Document, MetadataMode, TextNode
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.core.vector_stores.utils import metadata_dict_to_node

from mali_qa import cache
from mali_qa.config import Settings
from mali_qa.errors import IndexUnavailableError, IngestError, MaliQAError
from mali_qa.ingest.chunk import PassageParser
from mali_qa.ingest.corpus import read_folder
from mali_qa.ingest.docstore import articles_of, docstore_path, load_docstore
from mali_qa.ingest.repair import (
    BatchedChromaStore,
    drop_leftovers,
    drop_local_store,
    failure_message,
    max_batch,
    reconcile,
    wipe,
)
from mali_qa.store.chroma import (
    chroma_client,
    forget_chroma_client,
    sentence_collection_name,
    sentence_ids,
)
from mali_qa.store.embed import get_embed_model
from mali_qa.store.folder import (
    MANIFEST_FORMAT,
    REBUILD_HINT,
    IndexPaths,
    ingest_lock,
    paths_for,
    read_manifest,
    vocabulary_outdated,
    write_json_atomic,
)
from mali_qa.store.formats import (
    STORE_FORMAT,
    damaged_files,
    file_checksums,
    passages_outdated,
    store_outdated,
    write_articles,
    write_bm25,
)
from mali_qa.store.minilm import embed_model_name
from mali_qa.text import STEM_VERSION, content_stems, letter_words, split_sentences
from mali_qa.types import Article

log = logging.getLogger(__name__)

BATCH_ARTICLES = 32
#: Seconds an ingest waits for another one to release the lock, by default.
LOCK_WAIT = 2.0
#: While ingesting, the docstore is saved at most this often (saving it after every batch grows quadratically).
DOCSTORE_SAVE_SECONDS = 30.0


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
    lock_wait: float = LOCK_WAIT,
    allow_empty: bool = False,
) -> IngestReport:
    """Bring the index in line with the articles of `folder` (default: the seeds folder). A folder with no
    article is refused unless `allow_empty` (it would remove every article)."""
    started = time.perf_counter()
    paths = paths_for(settings)
    folder = Path(folder or settings.seeds_dir)
    with ingest_lock(paths, wait=lock_wait):
        corpus = read_folder(folder)
        report = IngestReport(warnings=list(corpus.warnings), articles=len(corpus.articles))
        if not corpus.articles and not allow_empty:
            raise IngestError(
                f"{folder} holds no articles (.txt, .md or .html files"
                + (f"; {len(corpus.warnings)} skipped" if corpus.warnings else "")
                + "): add some, or pass --allow-empty (allow_empty=True) to empty the index of "
                + f"{paths.root}"
            )
        try:
            if rebuild and not settings.chroma_host and read_manifest(paths) is not None:
                _rebuild_beside(settings, paths, corpus.articles, report, progress=progress)
            else:
                _write(settings, paths, corpus.articles, report, rebuild=rebuild, progress=progress)
        except MaliQAError:
            raise
        except Exception as exc:
            raise IngestError(failure_message(exc, paths, rebuild=rebuild)) from exc
        report.seconds = time.perf_counter() - started
        return report


def _rebuild_beside(
    settings: Settings, paths: IndexPaths, articles: list[Article], report: IngestReport, *, progress: bool
) -> None:
    """A rebuild of a local store, made in a folder of its own inside the index folder and moved in when it
    is complete: the previous index answers meanwhile, and still does if the rebuild fails."""
    staging = paths.root / ".rebuild"
    staged = settings.with_(vectorstore_dir=staging)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _write(staged, paths_for(staged), articles, report, rebuild=False, progress=progress)
        report.rebuilt = True
        forget_chroma_client(staged)
        cache.clear_all()  # this process's clients and loaded indexes of the folder being replaced
        forget_chroma_client(settings)
        paths.unfinished.touch()  # a kill while the parts are moved in: the next ingest checks them all
        new = paths_for(staged)
        for old, part in (
            (paths.chroma, new.chroma),
            (paths.bm25, new.bm25),
            (paths.vocab, new.vocab),
            (paths.articles, new.articles),
            (docstore_path(paths), docstore_path(new)),
        ):
            if old.is_dir():
                os.replace(old, staging / f"old-{old.name}")
            if part.exists():
                os.replace(part, old)
        os.replace(new.manifest, paths.manifest)
        paths.unfinished.unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write(
    settings: Settings,
    paths: IndexPaths,
    articles: list[Article],
    report: IngestReport,
    *,
    rebuild: bool,
    progress: bool,
) -> None:
    """Under the lock: rebuild when the store holds another model's or another collection's index, or
    passages cut by an older version, then sync; the manifest of the last finished index stays until the new one is written, last."""
    model_name = embed_model_name(settings)
    if rebuild and not settings.chroma_host:
        drop_local_store(paths)  # a damaged store may not even open
    client = chroma_client(settings)
    manifest = read_manifest(paths)
    try:
        existing = client.get_collection(settings.collection)
        recorded = (existing.metadata or {}).get("embed_model")
    except Exception:
        existing, recorded = None, None
    other_collection = (manifest or {}).get("collection", settings.collection) != settings.collection or (
        existing is None
        and docstore_path(paths).exists()  # the docstore belongs to a collection that is gone
    )
    old_cut = passages_outdated(paths)  # passages cut by an older version: only a rebuild re-cuts them
    if (
        rebuild
        or old_cut
        or other_collection
        or (existing is not None and recorded != model_name)
        or (manifest or {}).get("embed_model", model_name) != model_name
    ):
        if existing is not None and recorded != model_name and not rebuild:
            log.warning("the index was made with %s, not %s: rebuilding it", recorded, model_name)
        elif old_cut and not rebuild:
            log.warning("the index holds passages cut by an older version of mali-qa: rebuilding it")
        wipe(client, settings, paths)
        report.rebuilt = True
    # A store not left by a finished ingest of this version is checked in full against its docstore.
    unfinished = paths.unfinished.exists()  # the last ingest was killed or failed: its files are redone
    check = report.rebuilt or manifest is None or manifest.get("format") != MANIFEST_FORMAT or unfinished
    outdated = manifest is not None and manifest.get("store_format") != STORE_FORMAT
    damaged = damaged_files(paths, manifest) if manifest is not None and not report.rebuilt else []
    for name in damaged:
        log.warning("%s differs from the manifest (damaged or missing): writing it again", name)
        report.warnings.append(f"{name}: damaged or missing, written again from the stored passages")
    # the last finished index answers (its manifest stays) until the new manifest lands
    paths.unfinished.touch()
    _sync(
        settings,
        paths,
        client,
        articles,
        report,
        progress,
        check=check or _count_differs(client, settings, manifest),
        outdated=outdated or unfinished or bool(damaged) or (manifest or {}).get("files") is None,
    )


def _count_differs(client: Any, settings: Settings, manifest: dict[str, Any] | None) -> bool:
    try:
        return int((manifest or {}).get("passages", -1)) != client.get_collection(settings.collection).count()
    except Exception:
        return True


def _sync(
    settings: Settings,
    paths: IndexPaths,
    client: Any,
    articles: list[Article],
    report: IngestReport,
    progress: bool,
    *,
    check: bool = True,
    outdated: bool = False,
) -> None:
    """`outdated`: the files the read path reads are of another format, and are written again."""
    model_name = embed_model_name(settings)
    collection = client.get_or_create_collection(
        settings.collection, metadata={"embed_model": model_name, "hnsw:space": "cosine"}
    )
    sentences = client.get_or_create_collection(
        sentence_collection_name(settings), metadata={"embed_model": model_name, "hnsw:space": "cosine"}
    )
    docstore = _docstore(paths, report)
    if not docstore.docs and docstore_path(paths).exists():
        check = True  # every vector is checked against the (new) empty record
    batch = max_batch(client)
    vector_store = BatchedChromaStore(collection, batch)
    embed_model = get_embed_model(settings)
    known = {doc_id: h for h, doc_id in docstore.get_all_document_hashes().items()}
    if check:
        reconcile(collection, sentences, docstore, known)
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
            report.updated.append(doc.id_)
            to_run.append(doc)
        else:
            report.unchanged += 1
    drop_leftovers(collection, sentences, report.added, batch)
    updated = set(report.updated)
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
        articles_batch = to_run[i : i + BATCH_ARTICLES]
        for doc in articles_batch:
            if doc.id_ in updated:  # its old sentences go with its old passages, batch by batch
                sentences.delete(where={"article_id": doc.id_})
        nodes = pipeline.run(documents=articles_batch)
        _add_sentences(sentences, embed_model, nodes, min(batch, 1000))
        report.new_passages += len(nodes)
        bar.update(len(articles_batch))
        if time.monotonic() - saved > DOCSTORE_SAVE_SECONDS:  # a killed ingest then redoes little
            docstore.persist(str(docstore_path(paths)))
            saved = time.monotonic()
    bar.close()
    if to_run or report.removed:
        docstore.persist(str(docstore_path(paths)))
    report.passages = collection.count()
    if report.changed or outdated or not paths.bm25.exists() or vocabulary_outdated(paths):
        _build_lexical(collection, paths)
    if report.changed or outdated or not paths.articles.exists():
        write_articles(paths.articles, articles_of(docstore))
    write_json_atomic(
        paths.manifest,
        {
            "embed_model": model_name,
            "collection": settings.collection,
            "articles": len(articles),
            "passages": report.passages,
            "format": MANIFEST_FORMAT,
            "store_format": STORE_FORMAT,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": file_checksums(paths),
        },
    )
    paths.unfinished.unlink(missing_ok=True)


def _docstore(paths: IndexPaths, report: IngestReport) -> SimpleDocumentStore:
    """The writer's record of each article; a damaged one is set aside and started again (every article is
    then indexed again, while the previous index answers)."""
    try:
        return load_docstore(paths)
    except Exception as exc:  # llama-index raises what json and its own schema raise
        path = docstore_path(paths)
        log.warning("%s is damaged (%s): indexing every article again", path, type(exc).__name__)
        report.warnings.append(f"{path.name}: damaged ({type(exc).__name__}), every article indexed again")
        return SimpleDocumentStore()


def _add_sentences(collection: Any, embed_model: Any, nodes: Sequence[BaseNode], batch: int) -> None:
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
    for i in range(0, len(ids), batch):
        chunk = slice(i, i + batch)
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
    """BM25 over every passage (the text llama-index embeds, as its BM25Retriever indexed it), and the
    document frequency of every stem, both persisted."""
    nodes: list[BaseNode] = list(all_nodes(collection))
    write_bm25(
        paths.bm25,
        [node.node_id for node in nodes],
        [node.get_content(metadata_mode=MetadataMode.EMBED) for node in nodes],
    )
    _write_vocabulary(nodes, paths)


def refresh_lexical(settings: Settings) -> None:
    """Count the terms, build BM25 and write the articles again from the stored passages and docstore, under
    the ingest lock: after an upgrade changed the stemmer or the store's format. The vectors are left as
    they are."""
    paths = paths_for(settings)
    with ingest_lock(paths, wait=LOCK_WAIT):
        manifest = read_manifest(paths)
        if manifest is None or not (vocabulary_outdated(paths) or store_outdated(paths)):
            return
        log.info("writing the term counts, BM25 and articles of %s again (a new version)", paths.root)
        try:
            _build_lexical(chroma_client(settings).get_collection(settings.collection), paths)
            write_articles(paths.articles, articles_of(load_docstore(paths)))
        except MaliQAError:
            raise
        except Exception as exc:  # a damaged store: only a rebuild mends it
            raise IndexUnavailableError(
                f"the index in {paths.root} is damaged ({type(exc).__name__}): {REBUILD_HINT}"
            ) from exc
        write_json_atomic(
            paths.manifest, {**manifest, "store_format": STORE_FORMAT, "files": file_checksums(paths)}
        )


def _write_vocabulary(nodes: Sequence[BaseNode], paths: IndexPaths) -> dict[str, Any]:
    """How many passages hold each stem (with the article's headline), for weighing question terms."""
    df: Counter[str] = Counter()
    words: Counter[str] = Counter()  # the articles' own words, which typo repair corrects towards
    titled: set[str] = set()
    for node in nodes:
        title = node.metadata.get("title", "")
        text = node.get_content()
        df.update(set(content_stems(text) + content_stems(title)))
        words.update(letter_words(text))
        article_id = str(node.metadata.get("article_id", ""))
        if article_id not in titled:
            titled.add(article_id)
            words.update(letter_words(title))
    vocab = {"version": STEM_VERSION, "passages": len(nodes), "df": dict(df), "words": dict(words)}
    write_json_atomic(paths.vocab, vocab)
    return vocab
