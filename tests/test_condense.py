"""A question borrows the earlier turn only when it cannot be read alone: pairs of unrelated turns leave the
new question as typed; real follow-ups (a pronoun, a demonstrative, a fragment) are still resolved."""

from __future__ import annotations

from typing import Any

import pytest

from mali_qa import ask
from mali_qa.answer.condense import condense, pointing_words, reads_alone
from mali_qa.types import Turn


def _turns(question: str, answer: str) -> list[Turn]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


FRANCE = _turns(
    "when did france leave mali",
    "French President Emmanuel Macron on Monday sought to portray France's intervention in Mali as a "
    "success. [1]",
)
WAGNER = _turns(
    "Who controlled the Wagner Group?",
    "Yevgeny Prigozhin, who controlled the paramilitary group, was killed in August after launching an "
    "armed rebellion against Russian President Vladimir Putin. [1]",
)


@pytest.mark.parametrize(
    "question",
    [
        "who is mali's president",
        "mali president",  # terse: short, yet nothing in it points back
        "how many troops did france have",
        "what is jnim",
        "who is malis presidnt",
        "where did the french army close its bases",  # "its": the army's, named in the question
        "how many soldiers did france lose in its nine years in mali",
        "what did jnim say it did on monday",
        "Who controlled the Wagner Group, and when was he killed?",  # "he": the one asked about
        "how many planes and how much did mali pay for them",
        "are there russian troops in timbuktu",  # "there" with "are": not a place
        "is the french army still there in mali",  # "there" with its place named
        "what will the un do next year",  # "next" before what it qualifies
        "what happened this year",  # "this year" is now
        "in what year was minusma formed",  # opens with a preposition, yet has its verb
        "how much did mali pay for the aircraft",  # "how much" + a verb: an amount, not an ellipsis
    ],
)
def test_a_question_that_reads_alone_is_returned_unchanged_after_an_unrelated_turn(question: str) -> None:
    assert reads_alone(question), pointing_words(question)
    for history in (FRANCE, WAGNER):
        condensed = condense(question, history)
        assert condensed.question == question and not condensed.rewritten
        assert condensed.search_text == question and not condensed.context_terms
        earlier = {w.lower().strip("?,.") for t in history for w in t["content"].split()}
        assert (
            not {"macron", "prigozhin", "wagner", "leave"}
            & (earlier - set(question.lower().split()))
            & set(condensed.search_text.lower().split())
        )


@pytest.mark.parametrize(
    ("question", "points"),
    [
        ("what happened to him", "him"),
        ("when did he stage the second one", "he"),
        ("how did mali answer them", "them"),  # "them" cannot be Mali, the subject of its own clause
        ("how many wagner guys did they claim to kill", "they"),  # "they": the killers, not the counted
        ("who ordered it to leave", "it"),
        ("who arrived after them", "them"),
        ("who said that", "that"),
        ("when did the french leave that city", "that"),
        ("when did the troops arrive there", "there"),
        ("how many troops did it have then", "then"),
        ("who said so", "so"),
        ("where else are its mercenaries deployed", "else"),
        ("and the one launched in 2014?", "the one"),
        ("who was the french president at the time", "at the time"),
        ("what did the UN say his group did", "his"),  # the UN is "it", not "he"
        ("when did it's mission end", "it"),
        ("what happened to the troops there", "there"),
        ("what happened next", "next"),
        ("were french soldiers still there in 2023", "there"),  # a year is no place
    ],
)
def test_a_word_pointing_outside_the_question_makes_it_a_follow_up(question: str, points: str) -> None:
    assert points in pointing_words(question) and not reads_alone(question)


@pytest.mark.parametrize(
    "question",
    [
        "why?",
        "why",
        "and in niger?",
        "at whose request",
        "and by 2023?",
        "how many were killed",
        "how many more will stay",
        "and how many in chad",
        "what about niger",
        "ok and in chad?",
        "what type of aircraft? how many?",
    ],
)
def test_a_fragment_of_the_earlier_question_is_a_follow_up(question: str) -> None:
    assert not pointing_words(question)
    assert not reads_alone(question)
    condensed = condense(question, WAGNER)
    assert condensed.rewritten and "Wagner Group" in condensed.search_text


def test_a_real_follow_up_is_still_resolved() -> None:
    assert condense("what happened to him", WAGNER).question == "what happened to Prigozhin"
    history = _turns("what is minusma", "MINUSMA was formed in 2013 to act as a stabilizing force. [1]")
    assert condense("who ordered it to leave", history).question == "who ordered MINUSMA to leave"
    condensed = condense("why?", history)
    assert condensed.question == "why?" and "what is minusma" in condensed.search_text


def test_a_pronoun_the_question_binds_itself_is_not_replaced() -> None:
    history = _turns("where did jnim ambush wagner", "JNIM said it attacked the group near Djallo. [1]")
    condensed = condense("which bases did the french army close there and when did it close them?", history)
    assert condensed.rewritten and "JNIM" in condensed.search_text  # "there" points back
    assert "the french army close" in condensed.question and "did it close them" in condensed.question


@pytest.mark.parametrize("question", ["who is mali's president", "how many troops did france have"])
def test_ask_answers_a_question_that_reads_alone_the_same_after_an_unrelated_turn(
    built_settings: Any, question: str
) -> None:
    alone = ask(question, settings=built_settings)
    for history in (FRANCE, WAGNER):
        after = ask(question, history=history, settings=built_settings)
        assert after.query == alone.query == question
        assert (after.text, after.answered, [c.source for c in after.citations]) == (
            alone.text,
            alone.answered,
            [c.source for c in alone.citations],
        )
    assert "Goita" in ask("who is mali's president", history=FRANCE, settings=built_settings).text
