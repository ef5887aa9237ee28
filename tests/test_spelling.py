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


def test_distance_is_optimal_string_alignment_and_stops_past_its_limit() -> None:
    # no stretch is edited twice: "ca" -> "abc" is 3 edits (true Damerau-Levenshtein would say 2)
    assert distance("ca", "abc") == 3
    assert distance("timbuktoo", "timbuktu", limit=1) == 2  # past the limit: limit + 1
    assert distance("timbuktoo", "timbuktu", limit=2) == 2


def test_a_word_of_english_the_articles_lack_is_no_typo() -> None:
    from mali_qa.store.minilm import english_words

    articles = ["Analysts were saying the current mission was sought by the army."]
    # without a dictionary, real words one or two edits from an article word are "repaired"
    assert Speller.from_texts(articles).correct("paying currency") == "saying current"
    known = english_words()  # the bundled model's whole-word vocabulary
    assert {"paying", "currency", "bought"} <= known and "timbuktoo" not in known
    speller = Speller.from_texts(articles, known)
    assert speller.correct("who was paying, in what currency, and what was bought") == (
        "who was paying, in what currency, and what was bought"
    )
    assert speller.correct("the curent misison") == "the current mission"
