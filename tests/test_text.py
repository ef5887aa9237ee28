"""Sentence splitting with offsets, stems and term matching."""

from __future__ import annotations

from mali_qa.chunk import pack_sentences
from mali_qa.text import content_stems, split_sentences, stem, stems_match


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
