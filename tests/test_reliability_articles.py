"""Reliability of article handling: a folder of bad files (non-UTF-8, binary, empty, 10 MB, duplicate text, a
link leading outside) indexes the good articles and warns about each bad one; upload names stay inside."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mali_qa import service as api
from mali_qa.config import Settings
from mali_qa.errors import IngestError
from mali_qa.ingest.corpus import ARTICLE_SUFFIXES
from mali_qa.ingest.write import ingest
from mali_qa.library import add_article, safe_article_name
from mali_qa.search.index import load_index

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
FRANCE = SEEDS / "002_07d3930ec7cbf04e.txt"  # "Last French troops leave Mali, ending nine-year deployment"
WAGNER = SEEDS / "003_cd5923c85434dd50.txt"  # Wagner, Prigozhin, the UN mission
SECRET_WORD = "swordfish"


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Any]:
    """A folder of two good articles and every kind of bad file, indexed into a temp store."""
    base = tmp_path_factory.mktemp("messy")
    folder = base / "articles"
    folder.mkdir()
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(
        f"Vault notes\n\nThe secret password of the vault is {SECRET_WORD}. It must never be indexed.\n"
    )
    (folder / "a_good_france.txt").write_bytes(FRANCE.read_bytes())
    (folder / "b_good_wagner.md").write_bytes(WAGNER.read_bytes())
    (folder / "c_same_text.txt").write_bytes(FRANCE.read_bytes())  # same text as a_good_france.txt
    (folder / "d_latin1.txt").write_bytes(
        "Les soldats français quittent Gao\n\nLes soldats français ont quitté la base de Gao après neuf années "
        "de présence militaire au Mali, selon l'état-major.\n\nLe dernier convoi a franchi la frontière du "
        "Niger lundi matin, a précisé un porte-parole.\n".encode("cp1252")
    )
    (folder / "e_binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    (folder / "f_empty.txt").write_bytes(b"")
    (folder / "g_huge.txt").write_bytes(b"Mali news. " * (10 * 1024 * 1024 // 11 + 1))  # 10 MB
    (folder / "h_link.txt").symlink_to(outside / "secret.txt")
    (folder / "i_no_article.html").write_text("<html><body><nav>Home</nav></body></html>")
    (folder / "j_whitespace.md").write_text("   \n\n\t\n")
    settings = Settings.from_env(
        env_file=os.devnull, seeds_dir=folder, vectorstore_dir=base / "store", offline_engine="rules"
    )  # the folder's repair is tested here, not which sentence answers
    report = ingest(settings)
    return settings, report


def test_good_articles_are_indexed(messy: tuple[Settings, Any]) -> None:
    settings, report = messy
    assert set(load_index(settings).article_ids()) == {"a_good_france", "b_good_wagner", "d_latin1"}
    assert sorted(report.added) == ["a_good_france", "b_good_wagner", "d_latin1"]


@pytest.mark.parametrize(
    "name",
    [
        "c_same_text.txt",
        "d_latin1.txt",
        "e_binary.txt",
        "f_empty.txt",
        "g_huge.txt",
        "h_link.txt",
        "i_no_article.html",
        "j_whitespace.md",
    ],
)
def test_each_bad_file_gets_a_warning_naming_it(messy: tuple[Settings, Any], name: str) -> None:
    _, report = messy
    assert any(name in w for w in report.warnings), report.warnings


def test_repaired_encoding_keeps_the_text(messy: tuple[Settings, Any]) -> None:
    settings, _ = messy
    assert "soldats français" in load_index(settings).article("d_latin1").text


def test_ask_answers_from_a_good_article(messy: tuple[Settings, Any]) -> None:
    settings, _ = messy
    answer = api.ask("Who controlled the Wagner Group?", settings=settings)
    assert answer.answered and "Wagner" in answer.text
    assert {c.source for c in answer.citations} <= {"a_good_france", "b_good_wagner", "d_latin1"}
    assert answer.citations[0].source == "b_good_wagner"


def test_linked_file_outside_the_folder_is_never_read(messy: tuple[Settings, Any]) -> None:
    settings, _ = messy
    answer = api.ask("What is the secret password of the vault?", settings=settings)
    assert SECRET_WORD not in answer.text
    assert all(SECRET_WORD not in c.text and c.source != "h_link" for c in answer.citations)


def test_article_with_a_short_headline_keeps_its_body() -> None:
    from mali_qa.ingest.corpus import parse_article

    raw = (
        "Mali update\n\nFrench soldiers left the base in Gao after nine years, the army said. "
        "The last convoy crossed into Niger on Monday. Malian officials welcomed the departure.\n"
    )
    article = parse_article("short", raw, ".txt")
    assert "The last convoy crossed into Niger on Monday." in article.text


# -- upload names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/abs/x.txt", "x.txt"),
        ("..\\x.md", "x.md"),
        (".hidden.txt", "hidden.txt"),
        ("C:\\Users\\me\\report.HTML", "report.html"),
        ("a/../../b.txt", "b.txt"),
        ("name with spaces;rm -rf.txt", "name_with_spaces_rm_-rf.txt"),
    ],
)
def test_upload_name_is_neutralized(given_name: str, expected: str) -> None:
    assert safe_article_name(given_name) == expected


@pytest.mark.parametrize(
    "given_name", ["x.exe", "x.txt.exe", "x.txt\x00.exe", "", ".", "..", ".txt", "../", "x.txt.", "x"]
)
def test_upload_name_is_refused(given_name: str) -> None:
    with pytest.raises(IngestError):
        safe_article_name(given_name)


@hsettings(max_examples=500, deadline=None, database=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(st.sampled_from(["..", ".", "/", "\\", "a", "é", "\x00", " ", "~"]), max_size=12).map(
            "".join
        ),
    ),
    st.sampled_from([*ARTICLE_SUFFIXES, ".exe", ".TXT", "", ".txt/", ".md\\.."]),
)
def test_any_upload_name_stays_inside_the_folder(stem: str, suffix: str) -> None:
    folder = Path("/srv/articles")
    try:
        name = safe_article_name(stem + suffix)
    except IngestError:
        return
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".") and name not in (".", "..")
    assert os.path.splitext(name)[1] in ARTICLE_SUFFIXES
    assert os.path.normpath(folder / name).startswith(str(folder) + os.sep)


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.integration
def test_add_article_never_writes_outside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "nested" / "articles"
    folder.mkdir(parents=True)
    (folder / "a_good_france.txt").write_bytes(FRANCE.read_bytes())
    settings = Settings.from_env(env_file=os.devnull, seeds_dir=folder, vectorstore_dir=tmp_path / "store")
    ingest(settings)
    (tmp_path / "victim.txt").write_text("untouched")
    (folder / "linked.txt").symlink_to(tmp_path / "victim.txt")
    before = _tree(tmp_path)
    text = WAGNER.read_bytes()
    for name in ("../../escape.txt", "/abs/x.txt", "..\\x2.md", "linked.txt"):
        add_article(name, text + name.encode(), settings)
    for name in ("x.exe", "../../../y.sh"):
        with pytest.raises(IngestError):
            add_article(name, text, settings)
    with pytest.raises(IngestError):
        add_article("big.txt", b"a" * (3 * 1024 * 1024), settings)
    with pytest.raises(IngestError):
        add_article("blank.txt", b"  \n ", settings)
    added = _tree(tmp_path) - before
    assert all(a.startswith("nested/articles/") or a.startswith("store") for a in added), added
    assert {p.name for p in folder.iterdir()} >= {"escape.txt", "x.txt", "x2.md", "linked-2.txt"}
    assert (tmp_path / "victim.txt").read_text() == "untouched"
    assert (folder / "linked.txt").is_symlink()  # an upload never replaces a file (issue 12, finding 5)
    assert not (tmp_path / "escape.txt").exists() and not Path("/abs/x.txt").exists()
    api.reset()


@pytest.mark.integration
def test_add_article_temp_file_does_not_follow_a_planted_link(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a_good_france.txt").write_bytes(FRANCE.read_bytes())
    settings = Settings.from_env(env_file=os.devnull, seeds_dir=folder, vectorstore_dir=tmp_path / "store")
    (tmp_path / "victim.txt").write_text("untouched")
    (folder / ".new.txt.upload").symlink_to(tmp_path / "victim.txt")  # add_article's temp name for new.txt
    try:
        add_article("new.txt", WAGNER.read_bytes(), settings)
    except IngestError:
        pass  # refusing is fine; writing through the link is not
    finally:
        api.reset()
    assert (tmp_path / "victim.txt").read_text() == "untouched"
