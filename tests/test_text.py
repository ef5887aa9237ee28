"""Sentence splitting with offsets, stems and term matching."""

from __future__ import annotations

import importlib.util
import os
from importlib import resources
from pathlib import Path

import pytest

from mali_qa import lexicon, text
from mali_qa.ingest.chunk import pack_sentences
from mali_qa.text import STOPWORDS, content_stems, split_sentences, stem, stems_match


def test_sentences_keep_exact_offsets() -> None:
    text = "First one here. Second one, at 1 p.m. Paris time, ends here!\nA new line starts."
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "First one here.",
        "Second one, at 1 p.m. Paris time, ends here!",
        "A new line starts.",
    ]


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    text = "Gen. Smith met Mr. J. Doe on Dec. 23 in the U.S. capital. Then he left."
    assert len(split_sentences(text)) == 2


def test_closing_quote_stays_with_its_sentence() -> None:
    text = "“It is unacceptable,” he said. “We will leave.” The end came."
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert sentences[1] == "“We will leave.”"


def test_offset_is_added() -> None:
    assert split_sentences("One. Two.", offset=10) == [(10, 14), (15, 19)]


def test_stems_fold_forms_demonyms_irregulars_and_spelling() -> None:
    assert stem("left") == stem("leave")
    assert stem("French") == stem("France")
    assert stem("neighbouring") == stem("neighboring")
    assert stem("fifteen") == "15"


def test_stems_match_prefixes_but_not_unrelated_words() -> None:
    assert stems_match(stem("acquired"), stem("acquisitions"))
    assert stems_match(stem("Mali"), stem("Malian"))
    assert not stems_match(stem("control"), stem("controversial"))
    assert not stems_match(stem("train"), stem("troops"))
    assert not stems_match("15", "150")


def test_content_stems_drop_question_words_and_reporting_verbs() -> None:
    assert content_stems("What did the report say about Wagner?") == ["wagner"]


def test_passages_are_whole_sentences_within_the_word_limit() -> None:
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(40))
    spans = pack_sentences(text, max_words=30)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for start, end in spans:
        assert text[start:end].endswith(".")
        assert len(text[start:end].split()) <= 30


DATA = resources.files("mali_qa").joinpath("data")


def test_data_files_load() -> None:
    assert len(lexicon.months()) == 12 and "september" in lexicon.months()
    assert len(lexicon.weekdays()) == 7
    assert "sept" in lexicon.dated_month_abbreviations() and "mar" not in lexicon.dated_month_abbreviations()
    assert {"sept", "mar"} <= lexicon.abbreviations() and "gen" in lexicon.abbreviations()
    assert lexicon.number_words()[0] == "one" and "several hundred" in lexicon.number_words()
    assert lexicon.number_values()["fifteen"] == "15" and "thirteen" not in lexicon.number_values()
    assert lexicon.irregular_forms()["left"] == "leav"
    assert lexicon.demonyms()["malian"] == "mali"
    assert lexicon.aliases()["un"] == "unit"
    for name in ("answer_classes", "auxiliaries", "not_heads", "stopwords_english", "stopwords_domain"):
        assert lexicon.word_list(name)


def test_data_files_are_package_data_and_hold_each_word_once() -> None:
    files = [f for f in DATA.iterdir() if f.is_file() and f.suffix != ".json"]  # scorer.json: weights
    assert len(files) >= 10
    for f in files:
        assert f.name.endswith((".txt", ".tsv")), f.name  # the package-data globs of pyproject.toml
        entries = [line.split("\t")[0] for line in f.read_text(encoding="utf-8").splitlines()]
        entries = [e for e in entries if e and not e.startswith("#")]
        assert entries and len(entries) == len(set(entries)), f.name
        assert all(e == e.strip().lower() for e in entries), f.name


def test_stopwords_hold_standard_and_domain_words() -> None:
    assert {"the", "which", "ourselves"} & STOPWORDS == {"the", "which"}  # NLTK English, the subset we use
    assert {"according", "article", "said", "also"} <= STOPWORDS  # our own additions
    assert not set(lexicon.word_list("stopwords_english")) & set(lexicon.word_list("stopwords_domain"))
    # "one" frames questions ("one of the ...") but still matches the figure 1 in a sentence
    assert "one" in STOPWORDS and stem("one") == "1"


def test_english_stopwords_are_a_subset_of_the_nltk_list() -> None:
    """stopwords_english.txt says it is a subset of NLTK's list: check against a copy when one is installed."""
    roots = [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p] + [
        Path.home() / "nltk_data"
    ]
    llama = importlib.util.find_spec("llama_index.core")
    if llama and llama.submodule_search_locations:
        roots += [Path(p) / "_static" / "nltk_cache" for p in llama.submodule_search_locations]
    found = [
        r / "corpora" / "stopwords" / "english" for r in roots if (r / "corpora/stopwords/english").is_file()
    ]
    if not found:
        pytest.skip("no NLTK English stopword list installed")
    standard = set(found[0].read_text(encoding="utf-8").split())
    assert set(lexicon.word_list("stopwords_english")) <= standard


def test_stem_folds_irregular_verbs_demonyms_and_number_words() -> None:
    assert stem("fought") == stem("fight") == "fight"
    assert stem("withdrew") == stem("withdrawal") == stem("withdraw")
    assert stem("Malians") == stem("Mali")
    assert stem("Russian’s") == stem("Russia")
    assert stem("twelve") == "12" and stem("Thousand") == "1000"
    assert stem("spokeswoman") == stem("spokesman")


def test_text_module_holds_no_word_tables() -> None:
    source = Path(text.__file__).read_text(encoding="utf-8")
    assert len(source.splitlines()) < 200
    assert '"according"' not in source and '"withdrew"' not in source
