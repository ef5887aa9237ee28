"""Typo repair against the articles' own words."""

from __future__ import annotations

import pytest

from mali_qa.answer.spelling import Speller, distance

ARTICLES = [
    "The last French troops left Timbuktu. Wagner mercenaries were killed, according to officials.",
    "Operation Barkhane was launched in 2014; MINUSMA soldiers withdrew.",
]


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller.from_texts(ARTICLES)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("wen did the frech troops leave timbuktoo", "wen did the french troops leave timbuktu"),
        ("how many wagnr mercenaries were kiled", "how many wagner mercenaries were killed"),
        ("barkhane launchd acording to officals", "barkhane launched according to officials"),
        ("Timbuktoo", "Timbuktu"),
    ],
)
def test_typos_become_the_article_words(speller: Speller, typed: str, meant: str) -> None:
    assert speller.correct(typed) == meant


@pytest.mark.parametrize(
    "text",
    ["how do I bake bread?", "What is the weather today?", "who won the world cup", "MINUSMA soldiers"],
)
def test_real_words_and_known_words_are_left_alone(speller: Speller, text: str) -> None:
    assert speller.correct(text) == text


def test_distance_counts_a_transposition_as_one_edit() -> None:
    assert distance("soldeirs", "soldiers") == 1
    assert distance("timbuktoo", "timbuktu") == 2
    assert distance("", "abc") == 3
