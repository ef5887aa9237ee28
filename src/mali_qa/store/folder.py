"""Where the index lives: the folder's layout, the ingest lock, the manifest and the version of the term
counts, shared by the writer (`ingest/`) and the reader (`search/`)."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mali_qa.config import Settings
from mali_qa.errors import ConfigError, IngestError, IngestLockedError, MaliQAError
from mali_qa.text import STEM_VERSION

REBUILD_HINT = "run `mali-qa ingest --rebuild`"
#: Written into the manifest: a store whose manifest holds another format is checked in full by the next
#: ingest (every stored vector against the docstore), as after a killed run.
MANIFEST_FORMAT = 2
#: Errors of a folder that cannot be written to.
_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


@dataclass(frozen=True)
class IndexPaths:
    root: Path

    @property
    def chroma(self) -> Path:
        return self.root / "chroma"

    @property
    def bm25(self) -> Path:
        return self.root / "bm25"

    @property
    def vocab(self) -> Path:
        return self.root / "vocab.json"

    @property
    def articles(self) -> Path:
        return self.root / "articles.json"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def lock(self) -> Path:
        return self.root / ".ingest.lock"

    @property
    def unfinished(self) -> Path:
        """Present while an ingest writes (and after one that was killed or failed): the next ingest then
        checks every stored vector against the docstore. The manifest of the last finished index stays."""
        return self.root / ".ingest-unfinished"


def paths_for(settings: Settings) -> IndexPaths:
    return IndexPaths(Path(settings.vectorstore_dir))


def check_store_folder(paths: IndexPaths) -> None:
    """A clear error when MALI_QA_VECTORSTORE_DIR (or a folder above it) is a file."""
    for folder in (paths.root, *paths.root.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ConfigError(
                    f"MALI_QA_VECTORSTORE_DIR ({paths.root}) cannot be a folder: {folder} is a file; "
                    "point MALI_QA_VECTORSTORE_DIR at a folder in .env"
                )
            return


def read_only_message(paths: IndexPaths) -> str | None:
    """The message for an index folder this process cannot write to (Chroma writes even to answer)."""
    for path in (paths.root, paths.chroma, paths.lock):
        if path.exists() and not os.access(path, os.W_OK):
            return (
                f"the index folder {paths.root} is read-only, and Chroma must write to it even to answer: "
                "make it writable, or copy it to a writable folder and set MALI_QA_VECTORSTORE_DIR there"
            )
    return None


def not_writable(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _NOT_WRITABLE


def store_exists(paths: IndexPaths) -> bool:
    """Whether the folder holds any part of an index this module names (finished or not; the writer adds
    its own files)."""
    return any(
        path.exists()
        for path in (paths.manifest, paths.articles, paths.vocab, paths.bm25, paths.chroma / "chroma.sqlite3")
    )


def running_message(paths: IndexPaths) -> str:
    return f"an ingest is running on {paths.root}: ask again when it has finished"


def ingest_running(paths: IndexPaths) -> bool:
    """Whether another process holds the ingest lock of this folder right now."""
    if not paths.lock.exists():
        return False
    try:
        with ingest_lock(paths, wait=0):
            return False
    except IngestLockedError:
        return True
    except MaliQAError:
        return False


@contextmanager
def ingest_lock(paths: IndexPaths, wait: float = 0.0) -> Iterator[None]:
    """One ingest at a time per index folder (an OS lock, released even when the process is killed)."""
    from filelock import FileLock, Timeout

    check_store_folder(paths)
    try:
        paths.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IngestError(f"cannot create the index folder {paths.root} ({exc.strerror}): check it") from None
    message = read_only_message(paths)
    if message:
        raise IngestError(message)
    lock = FileLock(str(paths.lock), thread_local=False)
    try:
        lock.acquire(timeout=wait, poll_interval=0.2)
    except Timeout:  # a TimeoutError, hence an OSError: caught first
        raise IngestLockedError(
            f"another ingest is running on {paths.root}: wait for it to finish, then try again"
        ) from None
    except OSError as exc:
        raise IngestError(
            f"cannot lock {paths.lock} ({exc.strerror}): check the folder's permissions"
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


def vocabulary_version(paths: IndexPaths) -> int | None:
    """The stemmer version that made the term counts; None when they are missing or unreadable."""
    try:
        return int(json.loads(paths.vocab.read_text(encoding="utf-8")).get("version", 0))
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def vocabulary_outdated(paths: IndexPaths) -> bool:
    """Whether the term counts are missing, unreadable, or made by another version of the stemmer."""
    return vocabulary_version(paths) != STEM_VERSION
