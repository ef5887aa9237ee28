"""The writer's record of each article (llama-index's docstore: its hash, text and metadata), persisted and
read through llama-index's own API, by the writer alone; the read path reads the articles from the file of
ours written from it (`store.formats`)."""

from __future__ import annotations

from pathlib import Path

from llama_index.core.schema import MetadataMode
from llama_index.core.storage.docstore import SimpleDocumentStore

from mali_qa.store.folder import IndexPaths, store_exists
from mali_qa.types import Article


def docstore_path(paths: IndexPaths) -> Path:
    """Where llama-index's docstore (the writer's record of each article's hash) is persisted."""
    return paths.root / "docstore.json"


def index_started(paths: IndexPaths) -> bool:
    """Whether the folder holds any part of an index, finished or not (then it is never built over)."""
    return store_exists(paths) or docstore_path(paths).exists()


def load_docstore(paths: IndexPaths) -> SimpleDocumentStore:
    path = docstore_path(paths)
    return SimpleDocumentStore.from_persist_path(str(path)) if path.exists() else SimpleDocumentStore()


def articles_of(docstore: SimpleDocumentStore) -> list[Article]:
    """The articles the docstore records (through its public API), as the read path's article file holds
    them."""
    return [
        Article(
            id=doc_id,
            title=str(doc.metadata.get("title", doc_id)),
            text=doc.get_content(metadata_mode=MetadataMode.NONE),
            date=str(doc.metadata.get("date", "")),
            outlet=str(doc.metadata.get("outlet", "")),
        )
        for doc_id, doc in docstore.docs.items()
    ]
