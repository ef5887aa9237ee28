"""The sentence next door: what the best sentence for a question lacks, a sentence near it in its article
gives.

- The day a relative time stands for. News quotes a statement's own words ("Today at 1 p.m. the last
  contingent crossed ...") and gives the day of the statement in another sentence ("the French military said
  on Monday ..."). A date question answered by a sentence that times its event only relatively ("today",
  "yesterday") gets, beside it, the nearest sentence of the same article that gives a day and speaks of the
  same statement: both report what was said (data/reporting_words.txt) and share `MIN_SHARED_STEMS` content
  stems (who said it, what of).
- The asked kind next door. News leads state the event in one sentence and its time, count or source in the
  next: a best sentence holding nothing of the kind a date, number or person question asks gets the sentence
  right after it (else right before it) in its article when that one holds it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from mali_qa import cache, lexicon
from mali_qa.answer.candidates import Candidate, candidates, neighbour_id
from mali_qa.answer.kinds import DATE_FULL, STRICT_KINDS, part_kind_score
from mali_qa.answer.question import QuestionPart
from mali_qa.names import WEEKDAY
from mali_qa.text import content_stems, stem, stems
from mali_qa.types import Passage

#: Passages of the index by id (those missing left out): where the sentence next door is looked for when no
#: retrieved passage holds it.
FetchPassages = Callable[[list[str]], list[Passage]]

#: A time told from the day it was said, which a reader of the article later cannot place alone.
RELATIVE_DAY = re.compile(
    r"\b(?:today|yesterday|tomorrow|tonight|this (?:morning|afternoon|evening)|last night)\b", re.I
)
#: A day a reader can place: a weekday ("on Monday") or a month and day ("December 14").
DAY = re.compile(rf"\b{WEEKDAY}\b|{DATE_FULL.pattern}")
#: Content stems the two sentences must share to report the same statement.
MIN_SHARED_STEMS = 2
#: How well a sentence next door must hold the asked kind (`kinds.kind_score`: a weekday or a month holds a
#: date; "since" or "last year" alone does not).
MIN_KIND = 0.5
#: How far from the best sentence's passage the sentence next door is looked for: passages before, after.
PASSAGES_BEFORE, PASSAGES_AFTER = 3, 1


def relative_only(sentence: str) -> bool:
    """Whether the sentence reports a statement that times its event only relatively ("today", and no day a
    reader can place)."""
    return bool(RELATIVE_DAY.search(sentence)) and not DAY.search(sentence) and reports(sentence)


@cache.memo()
def _reporting() -> frozenset[str]:
    return frozenset(stem(w) for w in lexicon.word_list("reporting_words"))


def reports(sentence: str) -> bool:
    """Whether the sentence reports what someone said ("the statement said", data/reporting_words.txt)."""
    return not _reporting().isdisjoint(stems(sentence))


def day_of(best: Candidate, cands: Sequence[Candidate]) -> Candidate | None:
    """The sentence that gives the day a relative time in `best` stands for: in the same article, with a day,
    reporting a statement that shares `MIN_SHARED_STEMS` content stems with `best`'s; the nearest before it,
    else the nearest after."""
    own = set(content_stems(best.text))
    found = [
        c
        for c in cands
        if c.passage.article_id == best.passage.article_id
        and c.start != best.start
        and DAY.search(c.text)
        and reports(c.text)
        and len(own & set(content_stems(c.text))) >= MIN_SHARED_STEMS
    ]
    return min(found, key=lambda c: (c.start > best.start, abs(c.start - best.start)), default=None)


def next_door(
    part: QuestionPart, best: Candidate, cands: Sequence[Candidate], fetch: FetchPassages | None
) -> Candidate | None:
    """The sentence to quote beside `best` for what it lacks (see the module), among the candidates and the
    sentences of the passages around `best`'s in its article (`fetch`, when given); else None."""
    relative = part.kind == "date" and relative_only(best.text)
    lacking = part.kind in STRICT_KINDS and part_kind_score(part, best.text) == 0.0
    if not relative and not lacking:
        return None
    have = {c.passage.id for c in cands}
    nearby = [pid for pid in around(best.passage.id) if pid not in have] if fetch else []
    near = [*cands, *candidates(fetch(nearby))] if fetch and nearby else list(cands)
    if relative:
        return day_of(best, near)
    return adjacent_holding(part, best, near)


def adjacent_holding(part: QuestionPart, best: Candidate, cands: Sequence[Candidate]) -> Candidate | None:
    """The sentence right after `best` in its article (else right before it) when it holds the asked kind."""
    same_article = [c for c in cands if c.passage.article_id == best.passage.article_id]
    after = min((c for c in same_article if c.start >= best.end), key=lambda c: c.start, default=None)
    before = max((c for c in same_article if c.end <= best.start), key=lambda c: c.start, default=None)
    for c in (after, before):
        if c is not None and part_kind_score(part, c.text) >= MIN_KIND:
            return c
    return None


def around(passage_id: str) -> list[str]:
    """The ids of the passages around one in its article, nearest first ("a#0004" -> "a#0003", "a#0005",
    "a#0002", "a#0001")."""
    steps = sorted(
        [*range(-PASSAGES_BEFORE, 0), *range(1, PASSAGES_AFTER + 1)], key=lambda k: (abs(k), k > 0)
    )
    return [pid for step in steps if (pid := neighbour_id(passage_id, step))]
