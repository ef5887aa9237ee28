"""The corpus as the page and the CLI see it: list and read articles, index status, re-ingest, add a file."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mali_qa.config import Settings
from mali_qa.errors import IngestError
from mali_qa.ingest.corpus import ARTICLE_SUFFIXES, MAX_ARTICLE_BYTES, read_folder
from mali_qa.ingest.write import IngestReport, ingest
from mali_qa.service import open_index
from mali_qa.store.folder import read_manifest
from mali_qa.types import Article

#: Largest upload accepted by `add_article`, in bytes.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class IndexInfo:
    articles: int
    passages: int
    built_at: str
    embed_model: str
    location: str


def index_info(settings: Settings) -> IndexInfo:
    """What the index holds; builds it first when missing."""
    state = open_index(settings)
    manifest = read_manifest(state.paths) or state.manifest
    location = (
        f"Chroma server {settings.chroma_host}:{settings.chroma_port}"
        if settings.chroma_host
        else str(state.paths.root)
    )
    return IndexInfo(
        articles=int(manifest.get("articles", 0)),
        passages=int(manifest.get("passages", 0)),
        built_at=str(manifest.get("built_at", "")),
        embed_model=str(manifest.get("embed_model", "")),
        location=location,
    )


def list_articles(settings: Settings) -> list[Article]:
    """Every indexed article (id, headline, date, outlet and text), sorted by id."""
    state = open_index(settings)
    return [state.article(article_id) for article_id in state.article_ids()]


def get_article(article_id: str, settings: Settings) -> Article:
    return open_index(settings).article(article_id)


def reingest(settings: Settings, *, rebuild: bool = False, progress: bool = False) -> IngestReport:
    """Bring the index in line with the seeds folder; the next question sees the change."""
    report = ingest(settings, rebuild=rebuild, progress=progress, lock_wait=30)
    from mali_qa.service import reset

    reset()
    return report


def safe_article_name(filename: str) -> str:
    """A file name that stays inside the articles folder: no folders, no hidden files, a known suffix."""
    base = os.path.basename(filename.replace("\\", "/")).strip()
    stem, suffix = os.path.splitext(base)
    suffix = suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        raise IngestError(f"{base or filename!r}: only {', '.join(ARTICLE_SUFFIXES)} files can be added")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._")
    if not stem:
        raise IngestError(f"{filename!r} is not a usable file name: rename the file")
    return stem[:100] + suffix


def add_article(filename: str, data: bytes, settings: Settings) -> tuple[Path, IngestReport]:
    """Save an uploaded article into the seeds folder and index it. It never replaces or removes a file
    already there: a taken name (under any article suffix) gets a new one (`name-2.txt`), and an upload
    that holds no article or repeats one is refused before anything is written; an upload that could not be
    indexed is removed again (the previous index answers meanwhile)."""
    name = safe_article_name(filename)
    limit = min(MAX_UPLOAD_BYTES, MAX_ARTICLE_BYTES)
    if len(data) > limit:
        raise IngestError(f"{name}: {len(data) / 1e6:.1f} MB is over the {limit / 1e6:.0f} MB upload limit")
    if not data.strip():
        raise IngestError(f"{name}: the file is empty")
    folder = Path(settings.seeds_dir)
    folder.mkdir(parents=True, exist_ok=True)
    _check_upload(name, data, folder)
    # a fresh temporary file (O_EXCL: never through a link planted in the folder), then a hard link under a
    # name nothing has: os.link never replaces an existing file, even one that appears meanwhile
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        target = _link_under_a_free_name(Path(tmp), folder, name)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    try:
        report = reingest(settings)
    except BaseException:
        target.unlink(missing_ok=True)  # ours alone (a new name); the previous index still answers
        raise
    if target.stem not in report.added + report.updated:
        target.unlink(missing_ok=True)  # ours alone: a new name
        reingest(settings)
        relevant = [w for w in report.warnings if w.startswith(target.name)]
        raise IngestError(relevant[0] if relevant else f"{target.name}: it could not be indexed")
    return target, report


def _check_upload(name: str, data: bytes, folder: Path) -> None:
    """Refuse, before anything is written, an upload that holds no article or the text of another file."""
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / name).write_bytes(data)
        alone = read_folder(Path(scratch))
    if not alone.articles:
        raise IngestError(alone.warnings[0] if alone.warnings else f"{name}: it holds no article text")
    text = alone.articles[0].text
    for article in read_folder(folder).articles:
        if article.text == text:
            raise IngestError(f"{name}: the same text is already indexed as {Path(article.path).name}")


def _link_under_a_free_name(tmp: Path, folder: Path, name: str) -> Path:
    stem, suffix = os.path.splitext(name)
    for n in range(1, 1000):
        candidate = stem if n == 1 else f"{stem}-{n}"
        if any(p.stem == candidate for p in folder.glob(f"{candidate}.*")):
            continue  # that id is taken, under whatever suffix
        try:
            os.link(tmp, folder / f"{candidate}{suffix}")
        except FileExistsError:
            continue
        return folder / f"{candidate}{suffix}"
    raise IngestError(f"{name}: too many files share this name; rename the file")
