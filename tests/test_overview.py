"""Overview requests (issue 26, item 5): read as such, and answered from the articles' leads, one cited
sentence per relevant article, through the real index; a topic the articles do not cover gets no overview."""

from __future__ import annotations

from typing import Any

import pytest

from mali_qa.answer.condense import Condensed
from mali_qa.answer.overview import is_overview, overview
from mali_qa.text import split_sentences
from mali_qa.types import Passage


@pytest.mark.parametrize(
    "question",
    [
        "summarize the articles",
        "Can you give me a summary?",
        "what are these stories about",
        "tldr on france leaving mali",
        "whats going on with wagner in mali",
        "what's happening in timbuktu",
        "give me an overview of the russia mali situation",
    ],
)
def test_overview_requests_are_read_as_such(question: str) -> None:
    assert is_overview(question)


@pytest.mark.parametrize(
    "question",
    [
        "when did france leave mali",
        "who leads wagner",
        "why are russian soldiers in timbuktu",
        "what is minusma",
    ],
)
def test_questions_are_not_overviews(question: str) -> None:
    assert not is_overview(question)


def _passages(articles: dict[str, str]) -> list[Passage]:
    out = []
    for article, text in articles.items():
        for i, (b, e) in enumerate(split_sentences(text)):
            out.append(
                Passage(
                    id=f"{article}#{i:04d}",
                    article_id=article,
                    title=article,
                    text=text[b:e],
                    start=b,
                    end=e,
                    score=1.0,
                )
            )
    return out


def test_the_overview_quotes_each_articles_lead_skipping_captions_and_off_topic_articles() -> None:
    passages = _passages(
        {
            "a": "FILE - A soldier in Gao, July 1, 2013. Wagner fighters arrived in Mali in December, officials said. "
            "Later they moved north.",
            "b": "France ended its nine-year military operation in Mali on Monday. Wagner was not mentioned by them.",
            "c": "The harvest in Peru was good this year, farmers in the Andes said on Friday.",
        }
    )
    everything = overview(Condensed(question="summarize the articles"), passages)
    assert everything is not None and everything.answered
    quotes = [c.quote for c in everything.citations]
    assert quotes == [
        "Wagner fighters arrived in Mali in December, officials said.",  # not the photo caption
        "France ended its nine-year military operation in Mali on Monday.",
        "The harvest in Peru was good this year, farmers in the Andes said on Friday.",
    ]
    wagner = overview(Condensed(question="what is going on with wagner in mali"), passages)
    assert wagner is not None
    assert [c.quote for c in wagner.citations] == [
        "Wagner fighters arrived in Mali in December, officials said."
    ]
    assert overview(Condensed(question="give me an overview of the situation in chile"), passages) is None
    from mali_qa.answer.vocabulary import Vocabulary
    from mali_qa.text import content_stems

    df: dict[str, int] = {}
    for p in passages:
        for term in set(content_stems(p.text)):
            df[term] = df.get(term, 0) + 1
    words = Vocabulary(df, len(passages))
    # "venezuela": a word no article uses
    asked = Condensed(question="an overview of wagner fighters in mali and venezuela")
    assert overview(asked, passages) is not None and overview(asked, passages, words) is None


@pytest.mark.integration
def test_summarize_the_articles_quotes_leads_of_several_articles(built_settings: Any) -> None:
    from mali_qa import ask

    answer = ask("summarize the articles", settings=built_settings)
    assert answer.kind == "answer" and len({c.source for c in answer.citations}) >= 3
    for citation in answer.citations:
        assert citation.quote in citation.text and citation.start < 1500  # a sentence near the article's top
    assert len(answer.text.split()) <= 110
