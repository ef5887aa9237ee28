"""Keeping the index whole: what a failed ingest says (a full disk named as such), writes to Chroma in batches it accepts, Chroma and the docstore made to agree
after a killed or failed run, and vectors left by an unfinished run dropped."""

from __future__ import annotations

import contextlib
import errno
import logging
import shutil
from collections.abc import Sequence
from typing import Any

from llama_index.core.schema import BaseNode
from llama_index.vector_stores.chroma import ChromaVectorStore
from pydantic import PrivateAttr

from mali_qa import cache
from mali_qa.config import Settings
from mali_qa.ingest.docstore import docstore_path
from mali_qa.store.chroma import drop_chroma_clients, sentence_collection_name
from mali_qa.store.folder import REBUILD_HINT, IndexPaths, not_writable, read_only_message

log = logging.getLogger(__name__)

#: The most records one Chroma call takes when the client does not say (its local store takes 5,461).
DEFAULT_BATCH = 5000


def disk_full(exc: BaseException) -> bool:
    """Whether `exc` (or an error it wraps: Chroma's SQLite says it in words) is a full disk."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "disk is full" in str(exc) or "No space left" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def failure_message(exc: BaseException, paths: IndexPaths, *, rebuild: bool) -> str:
    """What a failed ingest tells the user: the fix of its cause, and what still answers."""
    kept = "" if rebuild else "; the previous index still answers"
    if disk_full(exc):
        return (
            f"the disk holding {paths.root} is full: free some space (or set MALI_QA_VECTORSTORE_DIR to a "
            f"folder on another disk), then run `mali-qa ingest` again{kept}"
        )
    if not_writable(exc) or read_only_message(paths):
        return read_only_message(paths) or f"cannot write to {paths.root}: {exc}"
    if rebuild:  # a rebuild starts from nothing: running it again is no fix
        return (
            f"rebuilding the index failed ({type(exc).__name__}: {exc}): the articles in the seeds folder "
            "are read as they are, so remove the file named above if any, or report this error"
        )
    return f"indexing failed ({type(exc).__name__}: {exc}){kept}; if it fails again, {REBUILD_HINT}"


def max_batch(client: Any) -> int:
    """The most records Chroma takes in one call (`get_max_batch_size`), at least 1."""
    try:
        return max(1, int(client.get_max_batch_size()))
    except Exception:  # an older server without the call
        return DEFAULT_BATCH


class BatchedChromaStore(ChromaVectorStore):
    """llama-index's Chroma store writing in batches Chroma accepts (its own batches are 41,665 records, and
    Chroma refuses more than `get_max_batch_size()`: 5,461 for a local store)."""

    _batch: int = PrivateAttr(default=DEFAULT_BATCH)

    def __init__(self, collection: Any, batch: int) -> None:
        super().__init__(chroma_collection=collection)
        self._batch = batch

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        ids: list[str] = []
        for i in range(0, len(nodes), self._batch):
            ids.extend(super().add(list(nodes[i : i + self._batch]), **add_kwargs))
        return ids


def reconcile(collection: Any, sentences: Any, docstore: Any, known: dict[str, str]) -> None:
    """Chroma and the docstore made to agree, after a killed run or on a store of an older version: vectors
    of articles the docstore does not hold are deleted (no phantom article is ever cited), and articles the
    docstore holds without passages or sentences are forgotten, so that they are indexed again."""
    passages = stored_articles(collection)
    with_sentences = stored_articles(sentences)
    phantoms = sorted((passages | with_sentences) - set(known))
    lost = sorted(set(known) - (passages & with_sentences))
    if phantoms or lost:
        log.warning(
            "repairing the index: %d articles stored without a record, %d recorded without vectors",
            len(phantoms),
            len(lost),
        )
    for i in range(0, len(phantoms + lost), 1000):
        chunk = (phantoms + lost)[i : i + 1000]
        collection.delete(where={"article_id": {"$in": chunk}})
        sentences.delete(where={"article_id": {"$in": chunk}})
    for doc_id in lost:
        docstore.delete_document(doc_id, raise_error=False)
        known.pop(doc_id, None)


def stored_articles(collection: Any, batch: int = 5000) -> set[str]:
    """The article ids of every vector in a collection, page by page."""
    found: set[str] = set()
    offset = 0
    while True:
        got = collection.get(include=["metadatas"], limit=batch, offset=offset)
        if not got["ids"]:
            return found
        found.update(str((meta or {}).get("article_id", "")) for meta in got["metadatas"])
        offset += len(got["ids"])


def drop_leftovers(collection: Any, sentences: Any, article_ids: list[str], batch: int) -> None:
    """Vectors of articles the docstore does not know: written by an ingest killed before it recorded
    them. Found with one query per thousand articles, and only when the collections hold anything."""
    if not article_ids or (collection.count() == 0 and sentences.count() == 0):
        return
    for i in range(0, len(article_ids), 1000):
        chunk = article_ids[i : i + 1000]
        for store, key in ((collection, "document_id"), (sentences, "article_id")):
            found = store.get(where={key: {"$in": chunk}}, include=[])["ids"]
            for j in range(0, len(found), batch):
                store.delete(ids=found[j : j + batch])


def wipe(client: Any, settings: Settings, paths: IndexPaths) -> None:
    """Every part of the index deleted (before it is built again in place)."""
    for name in (settings.collection, sentence_collection_name(settings)):
        with contextlib.suppress(Exception):
            client.delete_collection(name)
    for path in (docstore_path(paths), paths.articles, paths.vocab, paths.manifest):
        path.unlink(missing_ok=True)
    shutil.rmtree(paths.bm25, ignore_errors=True)


def drop_local_store(paths: IndexPaths) -> None:
    """Delete the local Chroma folder, after closing this process's clients of it."""
    cache.clear_all()
    drop_chroma_clients()
    shutil.rmtree(paths.chroma, ignore_errors=True)
