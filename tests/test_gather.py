"""Figures the articles give differently (issue 26, item 2): a "how many" answer quotes each other count of the
asked thing that answers about as well, with its source, under DIFFERING_FIGURES; never another people's
count, nor a second quote of the same figure."""

from __future__ import annotations

from mali_qa.answer.candidates import candidates
from mali_qa.answer.gather import differing_figures, figure
from mali_qa.answer.question import parts
from mali_qa.text import split_sentences
from mali_qa.types import Passage

TEXTS = {
    "a": "France had about 2,400 troops in Mali in February.",
    "b": "France had some 5,000 troops in the Sahel in 2020.",
    "c": "About 400 Russian troops are in Mali.",
    "d": "France had 2,400 troops in Mali, officials said.",
}


def _cands() -> list:
    passages = []
    for article, text in TEXTS.items():
        for i, (b, e) in enumerate(split_sentences(text)):
            passages.append(
                Passage(
                    id=f"{article}#{i:04d}", article_id=article, title=article, text=text[b:e], start=b, end=e
                )
            )
    return candidates(passages)


def test_each_other_figure_of_the_asked_count_is_gathered_once() -> None:
    part = parts("How many troops did France have?")[0]
    cands = _cands()
    assert [figure(part, c) for c in cands] == ["2400", "5000", "400", "2400"]
    everyone = [True] * len(cands)
    more = differing_figures(part, cands[:1], cands, [0, 3, 1, 2], everyone)
    assert [c.passage.article_id for c in more] == ["b", "c"]  # "d" repeats 2,400; at most two more
    not_russians = [True, True, False, True]  # the ranker's view: "c" is about other people
    more = differing_figures(part, cands[:1], cands, [0, 3, 1, 2], not_russians)
    assert [c.passage.article_id for c in more] == ["b"]


def test_no_gathering_but_for_a_how_many_question_whose_best_sentence_holds_one_count() -> None:
    cands = _cands()
    everyone = [True] * len(cands)
    assert (
        differing_figures(parts("When did France have troops?")[0], cands[:1], cands, [0, 1, 2, 3], everyone)
        == []
    )
    assert (
        differing_figures(parts("How many bases are there?")[0], cands[:1], cands, [0, 1, 2, 3], everyone)
        == []
    )
