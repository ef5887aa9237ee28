"""The files of ours that the read path reads, written at ingest and versioned: the articles (text and
metadata, `articles.json`) and BM25 (bm25s's arrays through its public save and load, with our list of
passage ids and tokenizer options, `bm25/ids.json`). Each file and the manifest carry `STORE_FORMAT`; a file
of another format is refused with an error naming the rebuild."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mali_qa.errors import IndexUnavailableError
from mali_qa.store.folder import (
    REBUILD_HINT,
    IndexPaths,
    read_manifest,
    vocabulary_version,
    write_json_atomic,
)
from mali_qa.text import STEM_VERSION
from mali_qa.types import Article

#: The format of the files below; written into each of them and into the manifest. Raise it when a field
#: changes meaning: an index of another format is then refreshed (service) or refused (reader).
STORE_FORMAT = 2
#: The first format whose articles' dates and outlets are those the articles state (`ingest.metadata`). An
#: index of an older format holds wrong ones in its passages and docstore too, which no refresh of these files
#: mends: the service refuses it, naming the re-ingest (`REINGEST_HINT`).
METADATA_FORMAT = 2
REINGEST_HINT = "run `mali-qa ingest` (with the folder of your articles, if not the seeds) to read them again"
#: The oldest format whose passages are cut as this version cuts them: since format 2 a heading run into a
#: sentence stands on its own line and opens the passage of the text it heads (issue 28). The passages of an
#: older index are cut otherwise, which only a rebuild mends: the reader and the service refuse it, naming
#: the rebuild, and `mali-qa ingest` rebuilds it.
PASSAGE_FORMAT = 2
#: The tokens BM25 counts (bm25s's default pattern), their stemmer, and the stop words left out of passages
#: (the choices of llama-index's BM25Retriever, which built this index before STORE_FORMAT 1).
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
STEMMER = "english"
STOPWORDS = "en"
#: Our file in the BM25 folder: the passage id of each BM25 row, and the tokenizer options.
BM25_IDS = "ids.json"


def check_format(data: Any, path: Path) -> None:
    """Refuse a file written in another format (by another version of mali-qa)."""
    found = data.get("format") if isinstance(data, dict) else None
    if found != STORE_FORMAT:
        raise IndexUnavailableError(
            f"{path} is in format {found} of the index, and this version of mali-qa reads format "
            f"{STORE_FORMAT}: {REBUILD_HINT}"
        )


def store_outdated(paths: IndexPaths) -> bool:
    """Whether a finished index was written in another format than this version reads (its manifest says)."""
    manifest = read_manifest(paths)
    return manifest is not None and manifest.get("store_format") != STORE_FORMAT


def metadata_outdated(paths: IndexPaths) -> bool:
    """Whether a finished index was written before its articles' dates and outlets were read only where the
    articles state them (`METADATA_FORMAT`): only an ingest mends it."""
    return _written_before(paths, METADATA_FORMAT)


def metadata_refusal(paths: IndexPaths) -> IndexUnavailableError:
    """The error of an index whose metadata is outdated, naming the fix."""
    return IndexUnavailableError(
        f"the index in {paths.root} was made by an older version of mali-qa, which took a site's date banner "
        f"or a spam footer for an article's date or outlet: {REINGEST_HINT}"
    )


def passages_outdated(paths: IndexPaths) -> bool:
    """Whether a finished index holds passages cut by an older version (format before PASSAGE_FORMAT, or
    none): writing its files again from the stored passages would keep the old cut."""
    return _written_before(paths, PASSAGE_FORMAT)


def _written_before(paths: IndexPaths, version: int) -> bool:
    """Whether a finished index (one with a manifest) was written in a format before `version`, or in none."""
    manifest = read_manifest(paths)
    if manifest is None:
        return False
    found = manifest.get("store_format")
    return not isinstance(found, int) or found < version


def lexical_outdated(paths: IndexPaths) -> bool:
    """Whether a finished index needs its term counts, BM25 and articles written again by this version: an
    upgrade changed the stemmer or the store's format (a missing or damaged file is an error instead)."""
    return vocabulary_version(paths) not in (None, STEM_VERSION) or store_outdated(paths)


def write_articles(path: Path, articles: Iterable[Article]) -> None:
    """The indexed articles, sorted by id, with their text and metadata."""
    rows = [
        {"id": a.id, "title": a.title, "text": a.text, "date": a.date, "outlet": a.outlet}
        for a in sorted(articles, key=lambda a: a.id)
    ]
    write_json_atomic(path, {"format": STORE_FORMAT, "articles": rows})


def read_articles(path: Path) -> dict[str, Article]:
    """The indexed articles by id; an error naming the fix when the file is missing, damaged or of another
    format."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexUnavailableError(
            f"the article store {path} is missing or damaged ({type(exc).__name__}): {REBUILD_HINT}"
        ) from exc
    check_format(data, path)
    try:
        return {
            str(row["id"]): Article(
                id=str(row["id"]),
                title=str(row["title"]),
                text=str(row["text"]),
                date=str(row.get("date", "")),
                outlet=str(row.get("outlet", "")),
            )
            for row in data["articles"]
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise IndexUnavailableError(
            f"the article store {path} is damaged ({type(exc).__name__}): {REBUILD_HINT}"
        ) from exc


def write_bm25(folder: Path, ids: list[str], texts: list[str]) -> None:
    """BM25 over `texts` (the passage of each id, in order), written through a temporary folder that then
    replaces `folder`; no folder when there is no passage."""
    import bm25s
    import Stemmer

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if not ids:
        shutil.rmtree(folder, ignore_errors=True)
        return
    tokens = bm25s.tokenize(
        texts,
        stopwords=STOPWORDS,
        stemmer=Stemmer.Stemmer(STEMMER),
        token_pattern=TOKEN_PATTERN,
        show_progress=False,
    )
    model = bm25s.BM25()
    model.index(tokens, show_progress=False)
    model.save(str(tmp), show_progress=False)
    write_json_atomic(
        tmp / BM25_IDS,
        {"format": STORE_FORMAT, "token_pattern": TOKEN_PATTERN, "stemmer": STEMMER, "ids": list(ids)},
    )
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


@dataclass(frozen=True)
class StoredBm25:
    """BM25 as written by `write_bm25`: the bm25s model (memory-mapped), the passage id of each row, and the
    options a query is tokenized with."""

    model: Any
    ids: list[str]
    token_pattern: str
    stemmer: str | None


def read_bm25(folder: Path) -> StoredBm25:
    """The BM25 of `folder`; an error naming the fix when it is missing, damaged or of another format."""
    import bm25s

    path = folder / BM25_IDS
    try:
        options = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexUnavailableError(
            f"the BM25 index {folder} is missing or damaged ({type(exc).__name__}): {REBUILD_HINT}"
        ) from exc
    check_format(options, path)
    model = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
    ids = [str(i) for i in options.get("ids") or []]
    if len(ids) != int(model.scores.get("num_docs") or 0):
        raise IndexUnavailableError(
            f"the BM25 index {folder} holds {len(ids)} ids for its {model.scores.get('num_docs')} rows: "
            f"{REBUILD_HINT}"
        )
    return StoredBm25(
        model=model,
        ids=ids,
        token_pattern=str(options.get("token_pattern") or TOKEN_PATTERN),
        stemmer=options.get("stemmer"),
    )


def our_files(paths: IndexPaths) -> list[Path]:
    """The files of ours the read path reads (articles, term counts, BM25), whose checksums the manifest
    holds."""
    bm25 = sorted(p for p in paths.bm25.iterdir() if p.is_file()) if paths.bm25.is_dir() else []
    return [paths.articles, paths.vocab, *bm25]


def file_checksums(paths: IndexPaths) -> dict[str, list[Any]]:
    """Size and sha256 of each of our files, by its path in the index folder (written into the manifest)."""
    return {
        path.relative_to(paths.root).as_posix(): [path.stat().st_size, _sha256(path)]
        for path in our_files(paths)
        if path.exists()
    }


def damaged_files(paths: IndexPaths, manifest: dict[str, Any], *, full: bool = True) -> list[str]:
    """Our files that differ from the manifest's record: missing, of another size, or (`full`) of another
    sha256, plus any extra BM25 file. Empty for a manifest without a record (an index of an older version)."""
    recorded = manifest.get("files")
    if not isinstance(recorded, dict):
        return []
    damaged = []
    for name, record in recorded.items():
        path = paths.root / name
        try:
            size, digest = record
            if path.stat().st_size != size or (full and _sha256(path) != digest):
                damaged.append(name)
        except (OSError, ValueError, TypeError):
            damaged.append(name)
    extra = [p.relative_to(paths.root).as_posix() for p in our_files(paths) if p.exists()]
    return damaged + sorted(set(extra) - set(recorded))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
