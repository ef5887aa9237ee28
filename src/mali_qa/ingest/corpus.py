"""Reads a folder of article files (.txt, .md, .html) into cleaned Articles, warning about files it skips."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from mali_qa.errors import IngestError
from mali_qa.ingest.clean import clean_text, markdown_to_text
from mali_qa.sanitize import clean_article, invalid_unicode
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
    if data[:2] in (
        b"\xff\xfe",
        b"\xfe\xff",
    ):  # UTF-16 with its byte order mark (Windows Notepad's "Unicode")
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192]:
        corpus.warn(f"{name}: skipped, it is a binary file, not text")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        corpus.warn(f"{name}: not valid UTF-8, read as Windows-1252; save it as UTF-8 to silence this")
        return data.decode("cp1252", errors="replace")


#: Elements a browser does not show (XPath): their text is never indexed.
HIDDEN_ELEMENTS = (
    "//template | //noscript | //*[@hidden] | //*[@aria-hidden='true']"
    " | //*[contains(translate(translate(@style, ' ', ''), 'DISPLAYNOE', 'displaynoe'), 'display:none')]"
    " | //*[contains(translate(translate(@style, ' ', ''), 'VISBLTYHDN', 'visbltyhdn'), 'visibility:hidden')]"
)


def visible_html(raw: str) -> str:
    """The page without the elements a browser hides (`hidden`, `<template>`, `<noscript>`, `aria-hidden`,
    `display: none`), which trafilatura would otherwise read as article text."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.document_fromstring(raw.encode("utf-8"))
    except (lxml.etree.ParserError, ValueError):
        return raw  # nothing to parse: trafilatura says so
    for element in root.xpath(HIDDEN_ELEMENTS):
        if element.getparent() is not None:  # not inside an element dropped already
            element.drop_tree()  # its tail (the visible text after it) stays
    return str(lxml.html.tostring(root, encoding="unicode"))


def parse_article(article_id: str, raw: str, suffix: str, path: str = "") -> Article:
    """One article from a file's text, by its kind (.txt, .md, .html)."""
    title = date = outlet = ""
    if suffix in (".html", ".htm"):
        import trafilatura

        extracted = trafilatura.extract(
            visible_html(raw), output_format="json", with_metadata=True, include_comments=False
        )
        if not extracted:
            raise IngestError(f"{path or article_id}: no article text found in the HTML")
        data = json.loads(extracted)
        raw, title = data.get("text") or "", data.get("title") or ""
        date = data.get("date") or ""  # the page's own date metadata, never the day it was read ("filedate")
        outlet = data.get("source-hostname") or data.get("sitename") or data.get("hostname") or ""
    elif suffix == ".md":
        raw = markdown_to_text(raw)
    raw = clean_article(raw)
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
    """Every article file in `folder` (not recursive), sorted by id; a bad file (unreadable, a link loop,
    a name that is not UTF-8, bad content) is skipped with a warning naming it, and the others are read."""
    if folder.exists() and not folder.is_dir():
        raise IngestError(f"{folder} is a file, not a folder: pass the folder that holds the articles")
    if not folder.is_dir():
        raise IngestError(f"the articles folder {folder} does not exist: create it or set MALI_QA_SEEDS_DIR")
    corpus = Corpus()
    root = folder.resolve()
    seen_hashes: dict[str, str] = {}
    seen_ids: set[str] = set()
    try:
        paths = sorted(folder.iterdir())
    except OSError as exc:
        raise IngestError(f"cannot list the articles folder {folder} ({exc.strerror}): check it") from None
    for path in paths:
        if path.name.startswith(".") or path.suffix.lower() not in ARTICLE_SUFFIXES:
            continue
        if invalid_unicode(path.name):
            shown = path.name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            corpus.warn(f"{shown}: skipped, its name is not valid UTF-8; rename the file")
            continue
        try:
            article = _read_file(path, root, max_bytes, corpus)
        except (OSError, RuntimeError, ValueError) as exc:  # unreadable, a link loop, a vanished file
            corpus.warn(f"{path.name}: skipped, it cannot be read ({type(exc).__name__}: {_reason(exc)})")
            continue
        if article is None:
            continue
        if article.id in seen_ids:
            corpus.warn(f"{path.name}: skipped, another file already has the id {article.id!r}")
            continue
        digest = hashlib.sha256(article.text.encode("utf-8")).hexdigest()
        if digest in seen_hashes:
            corpus.warn(f"{path.name}: skipped, same text as {seen_hashes[digest]}")
            continue
        seen_hashes[digest] = path.name
        seen_ids.add(article.id)
        corpus.articles.append(article)
    return corpus


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc).split(":")[0][:80]


def _read_file(path: Path, root: Path, max_bytes: int, corpus: Corpus) -> Article | None:
    """One file's article, or None after a warning when it is not one."""
    name = path.name
    if path.is_symlink() and root not in path.resolve(strict=True).parents:
        corpus.warn(f"{name}: skipped, it is a link to a file outside {root}")
        return None
    if not path.is_file():
        return None
    size = path.stat().st_size
    if size > max_bytes:
        corpus.warn(f"{name}: skipped, {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit")
        return None
    text = _decode(path.read_bytes(), name, corpus)
    if text is None:
        return None
    try:
        article = parse_article(path.stem, text, path.suffix.lower(), str(path))
    except IngestError as exc:
        corpus.warn(str(exc))
        return None
    if len(article.text) < MIN_ARTICLE_CHARS:
        corpus.warn(f"{name}: skipped, it holds no article text")
        return None
    return article
