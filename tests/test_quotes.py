"""Quotes without the articles' debris (issue 28, item 2), over every seed article: every quote, passage and
source card starts and ends on a sentence boundary of its article; headings and pull quotes ("“Mercenaries”",
"Messy relationship") and photo captions ("FILE - A French soldier …") are never quoted as sentences; and no reply quotes one sentence twice. Replies come from
the real `mali_qa.ask` on a real index (bundled model, real Chroma), answers and closest passages alike."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from page.markup import card_html, with_context

from mali_qa.answer.candidates import Candidate, candidates
from mali_qa.answer.compose import HARD_WORD_LIMIT, compose, same
from mali_qa.answer.condense import Condensed
from mali_qa.ingest.chunk import pack_sentences
from mali_qa.ingest.clean import clean_text, split_run_in_heading
from mali_qa.ingest.corpus import read_folder
from mali_qa.text import is_heading, split_sentences
from mali_qa.types import CLOSEST_PASSAGES, Answer, Article, Passage

ROOT = Path(__file__).resolve().parents[1]
_MARKERS = re.compile(r"(?:\s*\[\d+\])+")
#: Questions asked of every article, with its headline and the opening words of each paragraph (below).
GENERAL_QUESTIONS = (
    "when did France leave Mali",
    "who is mali's president",
    "why did france leave",
    "summarize the articles",
    "how many russian soldiers are in mali",
    "what did the french president say",
    "what are the mercenaries",
    "what is unacceptable",
    "what is the messy relationship",
    "how did the west react to wagner",
    "what happened in timbuktu",
    "how many french soldiers died",
    "what did lavrov say about the malian authorities",
    "what is the operation against the local branch of al qaida",
)


def seed_articles() -> list[Article]:
    return read_folder(ROOT / "seeds").articles


def boundaries(text: str) -> tuple[set[int], set[int], set[tuple[int, int]]]:
    """The starts and ends of the article's sentences, and the sentences that are not headings."""
    spans = split_sentences(text)
    sentences = {(s, e) for s, e in spans if not is_heading(text, s, e)}
    return {s for s, _ in spans}, {e for _, e in spans}, sentences


def questions(article: Article) -> Iterator[str]:
    """The article's headline, and a question from the opening words of each of its paragraphs."""
    yield article.title
    for paragraph in article.text.split("\n\n"):
        opening = " ".join(re.sub(r"[^\w’' -]", " ", paragraph).split()[:9])
        if len(opening.split()) >= 4:
            yield f"what about {opening}"


def card_text(citation: Any, article_text: str, answer: Answer, n: int) -> str:
    """The plain text a source card shows (its HTML with the marks taken off)."""
    shown = card_html(citation, article_text, answer.text, n, answer.short)
    return html.unescape(re.sub(r"<[^>]+>", "", shown.replace("<br>", "\n")))


def quoted_pieces(answer: Answer) -> list[str]:
    """The stretches of the reply's text followed by [n] markers: each is what the reply quotes."""
    text = answer.text.removeprefix(CLOSEST_PASSAGES)
    pieces, pos = [], 0
    for run in _MARKERS.finditer(text):
        pieces.append(text[pos : run.start()].strip())
        pos = run.end()
    return [p for p in pieces if p]


# --------------------------------------------------------------------------- the text itself


def test_a_run_in_quoted_heading_stands_on_its_own_line() -> None:
    line = "“Mercenaries” The situation in Mali has been of growing concern to the international community."
    assert split_run_in_heading(line) == ["“Mercenaries”", line.removeprefix("“Mercenaries” ")]
    body = clean_text(f"A headline of five words\n{line}").body
    assert body.split("\n\n") == ["“Mercenaries”", line.removeprefix("“Mercenaries” ")]


@pytest.mark.parametrize(
    "line",
    [
        "“Russian trainers” were on the ground to strengthen the security forces.",  # the quote is the subject
        "“You talk about mercenaries, it’s your business. For us, they are Russian advisers,” said the officer.",
        "“Unacceptable” Indeed.",  # too short to be a sentence a heading ran into
        "The officer said “Mercenaries” The situation is grave and growing worse by the day.",
    ],
)
def test_a_sentence_that_opens_on_a_quote_is_left_whole(line: str) -> None:
    assert split_run_in_heading(line) == [line]


def test_headings_pull_quotes_and_bylines_are_not_sentences() -> None:
    text = "Correspondent in Moscow\n\nThe deployment has become unpopular.\n\n“Unacceptable”\n\nMessy relationship"
    spans = split_sentences(text)
    headings = [text[s:e] for s, e in spans if is_heading(text, s, e)]
    assert headings == ["Correspondent in Moscow", "“Unacceptable”", "Messy relationship"]
    mid_line = "First sentence here. And a last one without a full stop"
    assert not any(is_heading(mid_line, s, e) for s, e in split_sentences(mid_line))


@pytest.mark.parametrize("article", seed_articles(), ids=lambda a: a.id)
def test_no_sentence_of_a_seed_runs_a_heading_into_it(article: Article) -> None:
    """No sentence of the cleaned article opens on a short quoted heading followed by another sentence."""
    for s, e in split_sentences(article.text):
        assert split_run_in_heading(article.text[s:e]) == [article.text[s:e]], article.text[s:e]


@pytest.mark.parametrize("article", seed_articles(), ids=lambda a: a.id)
def test_passages_and_their_context_start_and_end_on_sentences(article: Article) -> None:
    """Every passage, and the context a source card shows around it, is whole sentences, never opening or
    closing on a heading."""
    text = article.text
    starts, ends, _ = boundaries(text)
    for start, end in pack_sentences(text):
        assert start in starts and end in ends, text[start:end]
        last = max(s for s in starts if s < end)
        assert not is_heading(text, last, end), f"passage ends on a heading: {text[start:end]!r}"
        context, offset = with_context(text, start, end)
        assert offset in starts, f"the card opens inside a sentence: {context[:80]!r}"
        assert offset + len(context) in ends, f"the card ends inside a sentence: {context[-80:]!r}"


def _candidates(article_id: str, text: str) -> list[Candidate]:
    passage = Passage(
        id=f"{article_id}#0000", article_id=article_id, title="t", text=text, start=0, end=len(text)
    )
    return candidates([passage])


def test_a_heading_is_no_candidate_and_one_sentence_is_quoted_once() -> None:
    text = "“Unacceptable”\n\nThe diplomat said Wagner was unacceptable in Mali."
    (only,) = _candidates("a", text)
    assert only.text.startswith("The diplomat")
    (again,) = _candidates("b", "Before it.\n\nThe diplomat said Wagner  was unacceptable in Mali.")[1:]
    assert same(again, [only])  # the same words in another article
    answer = compose(Condensed(question="who said it"), [only, again], [only.passage, again.passage])
    assert answer.text == f"{only.text} [1]" and len(answer.citations) == 1


@pytest.mark.parametrize(
    "caption",
    [
        "FILE - A French soldier joins MINUSMA troops in Mali, July 1, 2013.",
        "FILE PHOTO: Russian soldiers in Timbuktu, January 2022.",
        "Photo: The last French convoy leaves Gao.",
    ],
)
def test_a_photo_caption_in_the_text_is_no_candidate(caption: str) -> None:
    """A news agency's caption set in the body ("FILE - … July 1, 2013.") is never quoted: its date is the
    photo's, not the event's."""
    body = "The pullout of the UN mission is creating concern in Tessalit."
    assert [c.text for c in _candidates("a", f"{caption} {body}")] == [body]
    assert [c.text for c in _candidates("a", f"A file photo was shown. {body}")][
        0
    ] == "A file photo was shown."


def test_a_sentence_past_the_word_limit_is_left_out_not_cut() -> None:
    long = " ".join(["word"] * (HARD_WORD_LIMIT - 10)) + "."
    first, second, third = _candidates("a", f"{long}\n\n{long.replace('word', 'more')}\n\nA short one.")
    answer = compose(Condensed(question="q"), [first, second, third], [first.passage])
    assert answer.text == f"{first.text} [1] {third.text} [1]"


# --------------------------------------------------------------------------- replies of the real engine


@pytest.fixture(scope="module")
def replies(built_settings: Any) -> list[tuple[str, Answer]]:
    """Every question of every article (and the general ones), asked alone of the real engine."""
    from mali_qa import ask

    asked = list(dict.fromkeys([*GENERAL_QUESTIONS, *(q for a in seed_articles() for q in questions(a))]))
    return [(q, ask(q, settings=built_settings)) for q in asked]


@pytest.fixture(scope="module")
def articles(built_settings: Any) -> dict[str, Article]:
    from mali_qa.library import list_articles

    return {a.id: a for a in list_articles(built_settings)}


def test_the_spread_reaches_every_article_and_both_kinds(
    replies: list[tuple[str, Answer]], articles: dict[str, Article]
) -> None:
    cited = {c.source for _, answer in replies for c in answer.citations}
    assert cited == set(articles)
    kinds = [answer.kind for _, answer in replies]
    assert kinds.count("answer") >= 10 and kinds.count("passages") >= 5, kinds


def test_every_quote_is_one_whole_sentence_of_its_article(
    replies: list[tuple[str, Answer]], articles: dict[str, Article]
) -> None:
    """Each citation quotes one sentence of its article, not a heading, at its offsets; the passage it cites
    is whole sentences; each stretch of the reply before a marker is one of those sentences, verbatim."""
    bad: list[str] = []
    for question, answer in replies:
        quotes = set()
        for citation in answer.citations:
            text = articles[citation.source].text
            starts, ends, sentences = boundaries(text)
            if (citation.quote_start, citation.quote_end) not in sentences:
                bad.append(f"{question!r}: quote is not a sentence: {citation.quote!r}")
            if text[citation.quote_start : citation.quote_end] != citation.quote:
                bad.append(f"{question!r}: quote not at its offsets: {citation.quote!r}")
            if citation.start not in starts or citation.end not in ends:
                bad.append(f"{question!r}: passage cut inside a sentence: {citation.text[:60]!r}")
            quotes.update(text[s:e] for s, e in sentences)
        for piece in quoted_pieces(answer):
            if piece not in quotes:
                bad.append(f"{question!r}: the reply quotes a piece that is no sentence: {piece!r}")
    assert not bad, "\n".join(bad[:20])


def test_no_card_starts_or_ends_inside_a_sentence(
    replies: list[tuple[str, Answer]], articles: dict[str, Article]
) -> None:
    bad: list[str] = []
    for question, answer in replies:
        for n, citation in enumerate(answer.citations, start=1):
            text = articles[citation.source].text
            starts, ends, _ = boundaries(text)
            shown = card_text(citation, text, answer, n)
            at = text.find(shown)
            if at < 0 or at not in starts or at + len(shown) not in ends:
                bad.append(f"{question!r}: card [{n}] shows {shown[:60]!r} … {shown[-60:]!r}")
    assert not bad, "\n".join(bad[:20])


def test_no_reply_quotes_one_sentence_twice(replies: list[tuple[str, Answer]]) -> None:
    bad: list[str] = []
    for question, answer in replies:
        pieces = quoted_pieces(answer)
        if len(pieces) != len(set(pieces)):
            bad.append(f"{question!r}: {answer.text!r}")
        spans = [(c.source, c.quote_start) for c in answer.citations if c.quote]
        if len(spans) != len(set(spans)):
            bad.append(f"{question!r}: two citations quote one sentence")
        plain = [" ".join(p.strip('“”"').lower().split()) for p in pieces]
        for i, a in enumerate(plain):  # a pull quote and the sentence it repeats: the same line twice
            if any(i != j and a in b for j, b in enumerate(plain)):
                bad.append(f"{question!r}: {pieces[i]!r} is quoted again inside another quote")
    assert not bad, "\n".join(bad[:20])
