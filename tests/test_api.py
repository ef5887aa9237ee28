"""The public API on the real seed index: the contract of `ask`, citations, follow-ups, errors."""

from __future__ import annotations

import re
from typing import Any

import pytest

import mali_qa
from mali_qa import NO_ANSWER, Answer, Citation, InvalidQuestionError, MaliQAError, ask, ask_stream
from mali_qa.search.index import load_index

pytestmark = pytest.mark.integration


def test_ask_answers_with_verbatim_citations(built_settings: Any) -> None:
    answer = ask("When did France leave Mali?", settings=built_settings)
    assert isinstance(answer, Answer) and answer.answered
    assert answer.citations and all(isinstance(c, Citation) for c in answer.citations)
    state = load_index(built_settings)
    for citation in answer.citations:
        article = state.article(citation.source)
        assert article.text[citation.start : citation.end] == citation.text
        assert article.text[citation.quote_start : citation.quote_end] == citation.quote
        assert citation.quote in answer.text and citation.title == article.title
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert markers and sorted(set(markers)) == list(range(1, len(answer.citations) + 1))
    assert markers[0] == 1


def test_every_answer_word_comes_from_the_articles(built_settings: Any) -> None:
    answer = ask("How many French soldiers were killed in Mali?", settings=built_settings)
    assert "59" in answer.text
    for piece in re.split(r"\s*\[\d+\]\s*", answer.text):
        if piece:
            assert any(piece.removesuffix(" …") in c.text for c in answer.citations), piece


def test_follow_up_uses_history(built_settings: Any) -> None:
    history = [
        {"role": "user", "content": "Who controlled the Wagner Group?"},
        {"role": "assistant", "content": "Yevgeny Prigozhin."},
    ]
    answer = ask("And what happened to him?", history=history, settings=built_settings)  # type: ignore[arg-type]
    assert answer.answered and "killed" in answer.text.lower()
    assert "Prigozhin" in answer.query


def test_unanswerable_abstains(built_settings: Any) -> None:
    answer = ask("Who won the 2022 FIFA World Cup?", settings=built_settings)
    assert not answer.answered and answer.text == NO_ANSWER and not answer.citations
    assert answer.retrieved  # the closest passages it looked at


def test_stream_yields_text_then_the_answer(built_settings: Any) -> None:
    items = list(ask_stream("Why are Russian soldiers in Timbuktu?", settings=built_settings))
    assert isinstance(items[-1], Answer) and all(isinstance(i, str) for i in items[:-1])
    assert "".join(items[:-1]) == items[-1].text  # type: ignore[arg-type]


def test_top_k_limits_the_passages(built_settings: Any) -> None:
    assert len(ask("Where is Wagner recruiting?", settings=built_settings, top_k=3).retrieved) <= 3


@pytest.mark.parametrize("bad", ["", "   \n\t ", "?!?", "x" * 5000, None, 42, ["When?"]])
def test_bad_questions_raise_an_error_that_names_the_fix(built_settings: Any, bad: Any) -> None:
    with pytest.raises(InvalidQuestionError) as info:
        ask(bad, settings=built_settings)
    assert isinstance(info.value, MaliQAError) and len(str(info.value)) > 20


def test_bad_history_is_refused(built_settings: Any) -> None:
    with pytest.raises(InvalidQuestionError, match="history"):
        ask("When?", history=[{"role": "system", "content": "x"}], settings=built_settings)  # type: ignore[list-item]


def test_public_names() -> None:
    for name in ("ask", "ask_stream", "Answer", "Citation", "MaliQAError", "NO_ANSWER"):
        assert hasattr(mali_qa, name)


def test_a_standalone_question_is_answered_the_same_with_or_without_history(built_settings: Any) -> None:
    history: Any = [
        {"role": "user", "content": "Who are the Wagner Group in Mali?"},
        {
            "role": "assistant",
            "content": ask("Who are the Wagner Group in Mali?", settings=built_settings).text,
        },
    ]
    alone = ask("When did France leave Mali?", settings=built_settings)
    after = ask("When did France leave Mali?", history=history, settings=built_settings)
    assert after.query == alone.query == "When did France leave Mali?"
    assert (after.text, [c.source for c in after.citations]) == (
        alone.text,
        [c.source for c in alone.citations],
    )


def test_a_follow_up_with_a_pronoun_still_uses_the_history(built_settings: Any) -> None:
    history: Any = [
        {"role": "user", "content": "Who are the Wagner Group in Mali?"},
        {
            "role": "assistant",
            "content": ask("Who are the Wagner Group in Mali?", settings=built_settings).text,
        },
    ]
    answer = ask("And what happened to him?", history=history, settings=built_settings)
    assert "Prigozhin" in answer.query
