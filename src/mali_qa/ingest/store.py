"""Where the index lives and how it is opened: folder layout, the Chroma client (the only place chromadb is
imported), the ingest lock, the manifest, and the ids of sentence vectors."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mali_qa.config import Settings
from mali_qa.errors import IndexUnavailableError, IngestLockedError, MaliQAError
from mali_qa.text import STEM_VERSION

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


def paths_for(settings: Settings) -> IndexPaths:
    return IndexPaths(Path(settings.vectorstore_dir))


def chroma_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    telemetry = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=telemetry
            )
        paths_for(settings).chroma.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(paths_for(settings).chroma), settings=telemetry)
    except MaliQAError:
        raise
    except Exception as exc:
        where = (
            f"the Chroma server at {settings.chroma_host}:{settings.chroma_port} (is it running?)"
            if settings.chroma_host
            else f"the index in {paths_for(settings).chroma}"
        )
        raise IndexUnavailableError(f"cannot open {where}: {type(exc).__name__}; {REBUILD_HINT}") from exc


def drop_chroma_clients() -> None:
    """Close this process's Chroma clients (before the local store's folder is deleted)."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


@contextmanager
def ingest_lock(paths: IndexPaths, wait: float = 0.0) -> Iterator[None]:
    """One ingest at a time per index folder (an OS lock, released even when the process is killed)."""
    from filelock import FileLock, Timeout

    paths.root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(paths.lock), thread_local=False)
    try:
        lock.acquire(timeout=wait, poll_interval=0.2)
    except Timeout:
        raise IngestLockedError(
            f"another ingest is running on {paths.root}: wait for it to finish, then try again"
        ) from None
    try:
        yield
    finally:
        lock.release()


def read_manifest(paths: IndexPaths) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(paths.manifest.read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        return None


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def sentence_collection_name(settings: Settings) -> str:
    return f"{settings.collection}_sentences"


def sentence_ids(passage_id: str, n_sentences: int) -> list[str]:
    """Ids of the sentence vectors of a passage: `<passage id>/<j>` for its j-th sentence."""
    return [f"{passage_id}/{j}" for j in range(n_sentences)]


def vocabulary_version(paths: IndexPaths) -> int | None:
    """The stemmer version that made the term counts; None when they are missing or unreadable."""
    try:
        return int(json.loads(paths.vocab.read_text(encoding="utf-8")).get("version", 0))
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def vocabulary_outdated(paths: IndexPaths) -> bool:
    """Whether the term counts are missing, unreadable, or made by another version of the stemmer."""
    return vocabulary_version(paths) != STEM_VERSION
