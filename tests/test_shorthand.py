"""Chat shorthand written out before the question is read ("ppl", "govt", "pm", "wat", "b4"); a date of an
announcement is not the date of the event asked about."""

from __future__ import annotations

from typing import Any

import pytest

from mali_qa.answer.shorthand import expand
from mali_qa.names import new_person_name
from mali_qa.text import stem
from mali_qa.types import Answer


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("who is mali's pm", "who is mali's prime minister"),
        ("how many ppl r displaced", "how many people are displaced"),
        ("wat did the govt say b4 the coup", "what did the government say before the coup"),
        ("whos the PM", "who is the prime minister"),
        ("Wat happened", "What happened"),
        ("why did the mil junta expel them", "why did the military junta expel them"),
        ("how many ppl.", "how many people."),
    ],
)
def test_shorthand_is_written_out(typed: str, meant: str) -> None:
    assert expand(typed) == meant


@pytest.mark.parametrize(
    "text",
    [
        "at 1 pm Paris time",  # a time, not a prime minister
        "about 5 mil",  # a million, not the military
        "the U.N. mission",  # a letter of an abbreviation, not "you"
        "u.s. troops",
        "the upm and rpm",  # inside a word
        "the president of Mali",
    ],
)
def test_what_is_no_shorthand_is_left_alone(text: str) -> None:
    assert expand(text) == text


def test_a_surname_the_question_names_is_no_new_person() -> None:
    asked = frozenset(stem(w) for w in "who took over wagner after prigozhin was killed".split())
    assert not new_person_name("Yevgeny Prigozhin, who controlled the group, was killed in August.", asked)
    assert new_person_name("Dmitry Utkin took over the group in August.", asked)


def test_the_prime_minister_asked_in_shorthand_is_named(built_settings: Any) -> None:
    from mali_qa.service import ask

    answer: Answer = ask("who is mali's pm", settings=built_settings)
    quoted = " ".join(c.quote for c in answer.citations)
    assert "Choguel Kokalla Maiga" in quoted, answer.text


def test_the_readme_example_quotes_when_the_last_troops_crossed(built_settings: Any) -> None:
    """ "When did France leave Mali?": the articles' February date is of the announcement (a sentence that
    announces, `features.announces`); the answer quotes the hour the last troops crossed into Niger, and the
    sentence telling the day of that statement's "today" (`answer.anchor`): Monday."""
    from mali_qa.service import ask

    answer: Answer = ask("When did France leave Mali?", settings=built_settings)
    assert answer.kind == "answer", answer.text
    assert "1 p.m." in answer.citations[0].quote, answer.text
    assert "on Monday" in answer.text and "February" not in answer.text, answer.text
