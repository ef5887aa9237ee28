"""Composing an answer, for every engine: the chosen sentences in reading order, each with its passage's [n]
marker, within the word budgets; the short answer inside the best one; or the abstention (NO_ANSWER)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from mali_qa.answer.candidates import Candidate
from mali_qa.answer.condense import Condensed
from mali_qa.answer.question import QuestionPart
from mali_qa.answer.short import short_answer
from mali_qa.text import word_count
from mali_qa.types import CLOSEST_PASSAGES, NO_ANSWER, Answer, Citation, Passage

#: A runner-up sentence is quoted only while the answer stays within this many words.
RUNNER_UP_WORDS = 70
#: A list may run longer, to name more of its items.
LIST_WORD_BUDGET = 90
#: Aim for answers under this many words; never more than HARD_WORD_LIMIT.
WORD_BUDGET = 75
HARD_WORD_LIMIT = 100
#: The closest passages shown when the engine is unsure: at most this many sentences.
CLOSEST_SENTENCES = 3


def same(cand: Candidate, chosen: Sequence[Candidate]) -> bool:
    """Whether the sentence is already chosen: the same place in its article, or the same words (a line an
    article repeats, or two articles share, is quoted once)."""
    key = _words(cand.text)
    return any(
        (c.passage.article_id == cand.passage.article_id and c.start == cand.start) or _words(c.text) == key
        for c in chosen
    )


def _words(text: str) -> str:
    """The text with its runs of whitespace as one space: two quotes of one sentence compare equal."""
    return " ".join(text.split())


def words_of(chosen: Sequence[Candidate]) -> int:
    """The words of the chosen sentences."""
    return sum(word_count(c.text) for c in chosen)


def abstain(condensed: Condensed, passages: Sequence[Passage]) -> Answer:
    """The answer that says the articles don't say (NO_ANSWER), with what was retrieved."""
    return Answer(
        text=NO_ANSWER, answered=False, citations=[], query=condensed.search_text, retrieved=list(passages)
    )


def closest(condensed: Condensed, chosen: list[Candidate], passages: Sequence[Passage]) -> Answer:
    """The middle kind of reply: the engine is unsure, so it says so and quotes the closest sentences (best
    first, at most CLOSEST_SENTENCES), each cited; `answered` False, no short answer."""
    answer = compose(condensed, chosen[:CLOSEST_SENTENCES], passages, best_first=True)
    answer.answered = False
    answer.text = f"{CLOSEST_PASSAGES} {answer.text}"
    return answer


def passage_citation(passage: Passage, **quote: int | str) -> Citation:
    """The citation of a passage, with the quote of it (`quote`, `quote_start`, `quote_end`) when given."""
    return Citation(
        source=passage.article_id,
        title=passage.title,
        text=passage.text,
        score=passage.score,
        start=passage.start,
        end=passage.end,
        date=passage.date,
        outlet=passage.outlet,
        **quote,  # type: ignore[arg-type]
    )


def compose(
    condensed: Condensed, chosen: list[Candidate], passages: Sequence[Passage], *, best_first: bool = False
) -> Answer:
    """Sentences in reading order per article (after the first chosen one, when `best_first`), each followed
    by its passage's [n]; numbers in order of use. Each is quoted whole and once (`fitting`)."""
    kept = fitting(chosen)
    first_seen: dict[str, int] = {}
    for c in kept:
        first_seen.setdefault(c.passage.article_id, len(first_seen))
    lead = kept[:1] if best_first else []
    ordered = lead + sorted(kept[len(lead) :], key=lambda c: (first_seen[c.passage.article_id], c.start))
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    pieces: list[str] = []
    for c in ordered:
        if c.passage.id not in numbers:
            numbers[c.passage.id] = len(numbers) + 1
            citations.append(passage_citation(c.passage, quote=c.text, quote_start=c.start, quote_end=c.end))
        pieces.append(f"{_trim(c.text, HARD_WORD_LIMIT)} [{numbers[c.passage.id]}]")
    return Answer(
        text=" ".join(pieces),
        answered=True,
        citations=citations,
        query=condensed.search_text,
        retrieved=list(passages),
    )


def fitting(chosen: Sequence[Candidate]) -> list[Candidate]:
    """The chosen sentences (best first) that the reply quotes: each whole and once, never past
    HARD_WORD_LIMIT words in all. A sentence already taken (`same`), or one that no longer fits whole, is
    left out, and a later, shorter one may still fit; only a first sentence longer than the limit alone is
    cut (marked "…")."""
    kept: list[Candidate] = []
    words = 0
    for c in chosen:
        n = word_count(c.text)
        if same(c, kept) or (kept and words + n > HARD_WORD_LIMIT):
            continue
        kept.append(c)
        words += n
    return kept


def with_short(answer: Answer, part: QuestionPart, best: Candidate) -> Answer:
    """The answer with its short form (and the offsets of it in the citation of the best sentence)."""
    short = short_answer(part, best.text, best.start)
    if short is None:
        return answer
    answer.short = short.shown
    answer.citations = [
        replace(c, answer_start=short.start, answer_end=short.end)
        if c.source == best.passage.article_id and c.start <= short.start and short.end <= c.end
        else c
        for c in answer.citations
    ]
    return answer


def _trim(text: str, limit: int) -> str:
    """A verbatim prefix of `text` of at most `limit` words, cut after a clause where possible."""
    tokens = text.split()
    if len(tokens) <= limit:
        return text
    cut = " ".join(tokens[:limit])
    comma = cut.rfind(",")
    return (cut[:comma] if comma > len(cut) // 2 else cut) + " …"
