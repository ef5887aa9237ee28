"""Reads a folder of article files (.txt, .md, .html) into cleaned Articles, warning about files it skips."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from mali_qa.errors import IngestError
from mali_qa.ingest.clean import clean_text, markdown_to_text
from mali_qa.types import Article

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".md", ".html", ".htm")
MAX_ARTICLE_BYTES = 5 * 1024 * 1024
MIN_ARTICLE_CHARS = 40


@dataclass
class Corpus:
    """The articles read from a folder, and one warning per file that was skipped or repaired."""

    articles: list[Article] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)


def _decode(data: bytes, name: str, corpus: Corpus) -> str | None:
    if b"\x00" in data[:8192]:
        corpus.warn(f"{name}: skipped, it is a binary file, not text")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        corpus.warn(f"{name}: not valid UTF-8, read as Windows-1252; save it as UTF-8 to silence this")
        return data.decode("cp1252", errors="replace")


def parse_article(article_id: str, raw: str, suffix: str, path: str = "") -> Article:
    """One article from a file's text, by its kind (.txt, .md, .html)."""
    title = date = outlet = ""
    if suffix in (".html", ".htm"):
        import trafilatura

        extracted = trafilatura.extract(raw, output_format="json", with_metadata=True, include_comments=False)
        if not extracted:
            raise IngestError(f"{path or article_id}: no article text found in the HTML")
        data = json.loads(extracted)
        raw, title = data.get("text") or "", data.get("title") or ""
        date, outlet = data.get("date") or "", data.get("sitename") or data.get("hostname") or ""
    elif suffix == ".md":
        raw = markdown_to_text(raw)
    cleaned = clean_text(raw, title_hint=title, date_hint=date, outlet_hint=outlet)
    return Article(
        id=article_id,
        title=cleaned.title or article_id,
        text=cleaned.body,
        date=cleaned.date,
        outlet=cleaned.outlet,
        path=path,
    )


def read_folder(folder: Path, *, max_bytes: int = MAX_ARTICLE_BYTES) -> Corpus:
    """Every article file in `folder` (not recursive), sorted by id; bad files are skipped with a warning."""
    if not folder.is_dir():
        raise IngestError(f"the articles folder {folder} does not exist: create it or set MALI_QA_SEEDS_DIR")
    corpus = Corpus()
    root = folder.resolve()
    seen_hashes: dict[str, str] = {}
    seen_ids: set[str] = set()
    for path in sorted(folder.iterdir()):
        name = path.name
        if path.name.startswith(".") or path.suffix.lower() not in ARTICLE_SUFFIXES:
            continue
        if path.is_symlink() and root not in path.resolve().parents:
            corpus.warn(f"{name}: skipped, it is a link to a file outside {folder}")
            continue
        if not path.is_file():
            continue
        size = path.stat().st_size
        if size > max_bytes:
            corpus.warn(f"{name}: skipped, {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit")
            continue
        text = _decode(path.read_bytes(), name, corpus)
        if text is None:
            continue
        try:
            article = parse_article(path.stem, text, path.suffix.lower(), str(path))
        except IngestError as exc:
            corpus.warn(str(exc))
            continue
        if len(article.text) < MIN_ARTICLE_CHARS:
            corpus.warn(f"{name}: skipped, it holds no article text")
            continue
        if article.id in seen_ids:
            corpus.warn(f"{name}: skipped, another file already has the id {article.id!r}")
            continue
        digest = hashlib.sha256(article.text.encode("utf-8")).hexdigest()
        if digest in seen_hashes:
            corpus.warn(f"{name}: skipped, same text as {seen_hashes[digest]}")
            continue
        seen_hashes[digest] = name
        seen_ids.add(article.id)
        corpus.articles.append(article)
    return corpus
