"""Figures the articles give differently (issue 26, item 2): when a "how many" question's best sentence holds one
count of the asked thing and other sentences about the same thing hold another (a force's size at another
date or place, a toll from another source), the reply quotes each, side by side, under DIFFERING_FIGURES,
rather than one figure as if it were the only one."""

from __future__ import annotations

from collections.abc import Sequence

from mali_qa.answer.candidates import Candidate
from mali_qa.answer.compose import same
from mali_qa.answer.question import QuestionPart
from mali_qa.answer.short import short_answer

#: At most this many more figures beside the best sentence's.
MORE_FIGURES = 2


def figure(part: QuestionPart, cand: Candidate) -> str:
    """The one count of the asked thing the sentence holds ("2,400"), normalized, or "" (none, or several)."""
    found = short_answer(part, cand.text, cand.start)
    return found.text.lower().replace(",", "").strip() if found else ""


def asks_a_count(part: QuestionPart) -> bool:
    """Whether the part asks how many of a named thing ("how many troops"): the only questions gathered."""
    return part.kind == "number" and bool(part.counted)


def differing_figures(
    part: QuestionPart,
    chosen: Sequence[Candidate],
    cands: Sequence[Candidate],
    order: Sequence[int],
    about_as_well: Sequence[bool],
) -> list[Candidate]:
    """The sentences (best ranked first, at most MORE_FIGURES) that hold a count of the asked thing other than
    the best sentence's and answer the question about as well as it (`about_as_well`, by candidate: the
    ranker's score near the best, the question's terms as covered, no other people than those asked); []
    when the question is no "how many", or the best sentence holds no single count."""
    if not asks_a_count(part) or not chosen or not figure(part, chosen[0]):
        return []
    seen = {figure(part, c) for c in chosen} - {""}
    more: list[Candidate] = []
    for i in order:
        cand = cands[i]
        if len(more) >= MORE_FIGURES:
            break
        if same(cand, [*chosen, *more]) or not about_as_well[i]:
            continue
        value = figure(part, cand)
        if value and value not in seen:
            seen.add(value)
            more.append(cand)
    return more
