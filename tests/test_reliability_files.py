"""Findings 4, 5 and 6 of issue 12: a pathological article indexes and answers in time; a page upload never
replaces or deletes an article; one bad file in the folder (a link loop, an unreadable file, a name that is
not UTF-8) is skipped with a warning and the rest indexed; a file passed as the folder is named as such."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mali_qa import service as api
from mali_qa.config import Settings
from mali_qa.errors import IngestError
from mali_qa.ingest.clean import markdown_to_text
from mali_qa.ingest.corpus import read_folder
from mali_qa.ingest.write import ingest
from mali_qa.library import add_article

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
TIMBUKTU = "000_b06dc7d12b134529"
GOOD = {
    "alpha": "Alpha headline about Mali\n\nFrench troops left Timbuktu on December 14. Russian trainers arrived.",
    "beta": "Beta headline about Wagner\n\nThe Wagner Group was owned by Yevgeny Prigozhin. He was killed in August.",
}


def folder_of(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir(exist_ok=True)
    for name, text in (files or GOOD).items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


def settings_for(folder: Path, store: Path) -> Settings:
    return Settings.from_env(env_file=os.devnull, seeds_dir=folder, vectorstore_dir=store)


# -- finding 4: a pathological article ---------------------------------------------------------------------


def test_markdown_cleaning_is_linear() -> None:
    """Unclosed emphasis, brackets and blank lines made `markdown_to_text` quadratic (30 KB: 1-6 s)."""
    for name, raw in {
        "underscores": "_a " * 100_000,
        "brackets": "[a" * 100_000,
        "images": "![a" * 100_000,
        "blank lines": "\n" * 300_000 + "x",
        "links": "[a](" * 100_000,
    }.items():
        start = time.perf_counter()
        markdown_to_text(raw)
        assert time.perf_counter() - start < 2.0, name


@pytest.mark.integration
def test_an_article_with_a_run_of_dots_indexes_and_answers_in_time(tmp_path: Path) -> None:
    """The issue's case: 30,000 dots took 61 s to index and 58 s per question that retrieved it."""
    folder = folder_of(
        tmp_path,
        {**GOOD, "dots": "Dots headline about Mali\n\nMali and Wagner" + "." * 30_000 + " and more."},
    )
    settings = settings_for(folder, tmp_path / "store")
    start = time.perf_counter()
    report = ingest(settings)
    indexing = time.perf_counter() - start
    assert "dots" in report.added and indexing < 30, indexing
    api.reset()
    api.ask("Who owned the Wagner Group?", settings=settings)  # loads the index
    start = time.perf_counter()
    answer = api.ask("What about Mali and Wagner dots?", settings=settings)
    assert time.perf_counter() - start < 2.0 and answer.retrieved


# -- finding 5: uploads ------------------------------------------------------------------------------------


@pytest.fixture
def seeded(tmp_path: Path) -> Settings:
    folder = tmp_path / "seeds"
    folder.mkdir()
    for path in SEEDS.glob("*.txt"):
        (folder / path.name).write_bytes(path.read_bytes())
    settings = settings_for(folder, tmp_path / "store")
    ingest(settings)
    api.reset()
    return settings


@pytest.mark.integration
def test_upload_under_an_existing_name_never_deletes_the_original(seeded: Settings) -> None:
    original = (seeded.seeds_dir / f"{TIMBUKTU}.txt").read_bytes()
    with pytest.raises(IngestError):
        add_article(f"{TIMBUKTU}.txt", b"tiny", seeded)
    assert (seeded.seeds_dir / f"{TIMBUKTU}.txt").read_bytes() == original
    assert sorted(p.name for p in seeded.seeds_dir.iterdir()) == sorted(p.name for p in SEEDS.glob("*.txt"))
    from mali_qa.library import get_article

    api.reset()
    assert get_article(TIMBUKTU, seeded).title.startswith("Russian troops deploy in Timbuktu")


@pytest.mark.integration
def test_upload_under_another_suffix_never_displaces_the_original(seeded: Settings) -> None:
    from mali_qa.library import get_article, list_articles

    before = get_article("001_ce45e1c8aef7f2ba", seeded)
    path, report = add_article(
        "001_ce45e1c8aef7f2ba.md",
        b"# Upload headline\n\nAn uploaded note about convoys in Gao and Kidal.",
        seeded,
    )
    assert path.name == "001_ce45e1c8aef7f2ba-2.md" and report.added == ["001_ce45e1c8aef7f2ba-2"]
    assert not report.warnings, report.warnings
    api.reset()
    assert get_article("001_ce45e1c8aef7f2ba", seeded).text == before.text
    assert len(list_articles(seeded)) == 6


@pytest.mark.integration
def test_upload_repeating_an_article_is_refused_and_changes_nothing(seeded: Settings) -> None:
    text = (seeded.seeds_dir / f"{TIMBUKTU}.txt").read_bytes()
    with pytest.raises(IngestError, match="already indexed"):
        add_article("aaa_first_in_order.txt", text, seeded)
    assert not (seeded.seeds_dir / "aaa_first_in_order.txt").exists()
    api.reset()
    answer = api.ask("Why are Russian soldiers in Timbuktu?", settings=seeded)
    assert TIMBUKTU in {c.source for c in answer.citations}


# -- finding 6: one bad file -------------------------------------------------------------------------------


def bad_folder(tmp_path: Path) -> Path:
    folder = folder_of(tmp_path)
    (folder / "loop_a.txt").symlink_to("loop_b.txt")
    (folder / "loop_b.txt").symlink_to("loop_a.txt")
    (folder / "dangling.txt").symlink_to("nowhere.txt")
    (folder / "unreadable.txt").write_text("Unreadable headline\n\nThis file cannot be read by the indexer.")
    with open(os.path.join(os.fsencode(folder), b"caf\xe9 latin1 name.txt"), "wb") as out:
        out.write(b"Latin-1 named headline\n\nA file whose name is not UTF-8 holds this text about Mali.")
    return folder


def _unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    """`unreadable.txt` raises PermissionError when read (root reads any file, so it is simulated)."""
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "unreadable.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def test_bad_files_are_skipped_with_a_warning_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = bad_folder(tmp_path)
    _unreadable(monkeypatch)
    corpus = read_folder(folder)
    assert [a.id for a in corpus.articles] == ["alpha", "beta"]
    warned = " ".join(corpus.warnings)
    for name in ("loop_a.txt", "loop_b.txt", "dangling.txt", "unreadable.txt", "caf\\xe9 latin1 name.txt"):
        assert name in warned, (name, corpus.warnings)


@pytest.mark.integration
def test_ingest_and_rebuild_index_the_rest_of_a_folder_with_bad_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = bad_folder(tmp_path)
    _unreadable(monkeypatch)
    settings = settings_for(folder, tmp_path / "store")
    for rebuild in (False, True):
        report = ingest(settings, rebuild=rebuild)
        assert report.articles == 2 and len(report.warnings) == 5, report.warnings
        api.reset()
        assert api.ask("Who owned the Wagner Group?", settings=settings).answered


def test_a_file_passed_as_the_folder_is_named_as_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(IngestError, match="is a file, not a folder"):
        read_folder(tmp_path / "notes.txt")
