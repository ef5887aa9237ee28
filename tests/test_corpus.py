"""Reading a folder of articles: every bad file is skipped with a warning naming it; the rest is read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mali_qa.errors import IngestError
from mali_qa.ingest.corpus import read_folder

GOOD = (
    "A headline for the good article\n\nFrance announced the withdrawal of its troops from Mali in February."
)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    return folder


def test_seeds_give_five_articles_with_headlines(seeds_dir: Path) -> None:
    corpus = read_folder(seeds_dir)
    assert [a.id for a in corpus.articles][:1] == ["000_b06dc7d12b134529"]
    assert len(corpus.articles) == 5 and not corpus.warnings
    titles = {a.id: a.title for a in corpus.articles}
    assert (
        titles["003_cd5923c85434dd50"] == "Mali and Russia Troops Relocate Following Departure of UN Mission"
    )
    assert titles["004_49f779cc4835a65a"].startswith("Mali requests the intervention")
    for article in corpus.articles:
        for junk in (
            "Source link",
            "Comments are closed",
            "Back to top",
            "uses cookies",
            "Accessibility links",
        ):
            assert junk not in article.text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("binary.txt", b"\x00\x01\x02binary", "binary"),
        ("empty.txt", b"", "no article text"),
        (
            "latin.txt",
            "Un titre avec quatre mots\n\nLe président a quitté Bamako en février dernier, dit-il.".encode(
                "cp1252"
            ),
            "UTF-8",
        ),
        ("zcopy.txt", GOOD.encode("utf-8"), "same text as good.txt"),
    ],
)
def test_bad_file_is_named_in_a_warning_and_the_good_one_is_kept(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    folder = _folder(tmp_path)
    (folder / name).write_bytes(content)
    corpus = read_folder(folder)
    assert "good" in [a.id for a in corpus.articles]
    assert any(w.startswith(name) and message in w for w in corpus.warnings), corpus.warnings


def test_too_large_file_is_skipped(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "huge.txt").write_text("word " * 1000, encoding="utf-8")
    corpus = read_folder(folder, max_bytes=1000)
    assert [a.id for a in corpus.articles] == ["good"]
    assert any("huge.txt" in w and "limit" in w for w in corpus.warnings)


def test_symlink_outside_the_folder_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text(
        "A secret headline here\n\nThe secret text lives outside the articles folder.", encoding="utf-8"
    )
    os.symlink(secret, folder / "link.txt")
    corpus = read_folder(folder)
    assert [a.id for a in corpus.articles] == ["good"]
    assert any("link.txt" in w and "outside" in w for w in corpus.warnings)


def test_other_files_are_ignored(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "notes.pdf").write_bytes(b"%PDF")
    (folder / ".hidden.txt").write_text(GOOD + " hidden", encoding="utf-8")
    assert [a.id for a in read_folder(folder).articles] == ["good"]


def test_missing_folder_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="MALI_QA_SEEDS_DIR"):
        read_folder(tmp_path / "nope")
