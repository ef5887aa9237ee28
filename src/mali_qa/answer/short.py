"""The short answer: the exact name, date, number or place inside a quoted sentence, with its offsets, when
the question asks for one and the sentence holds one the question does not already name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mali_qa.answer.kinds import DATE_RELATIVE, DATE_TIME, GENERIC, KINDS, NAMED
from mali_qa.answer.question import QuestionPart
from mali_qa.text import stem

#: Said of a date the articles give only as a weekday or a relative time.
NO_CALENDAR_DATE = "the articles give no calendar date"


@dataclass(frozen=True)
class Short:
    """The exact answer, its offsets into the article, and how to show it."""

    text: str
    start: int
    end: int
    shown: str


def short_answer(part: QuestionPart, sentence: str, offset: int) -> Short | None:
    """The exact answer inside `sentence` (which starts at article offset `offset`), or None."""
    asked = set(part.terms)
    patterns = KINDS.get(part.kind, GENERIC).exact or (NAMED if part.wants_name else ())
    for pattern in patterns:
        for match in pattern.finditer(sentence):
            words = re.findall(r"[\w’'\-]+", match.group(0))
            if not words or all(stem(w) in asked for w in words):
                continue  # the question already names it
            text = match.group(0).strip(" ,.;:")
            start = offset + match.start() + match.group(0).index(text)
            shown = text
            if part.kind == "date" and pattern in (DATE_TIME, DATE_RELATIVE):
                shown = f"{text} ({NO_CALENDAR_DATE})"
            return Short(text, start, start + len(text), shown)
    return None
