"""The short answer: the exact name, date, number or place inside a quoted sentence, with its offsets, when
the question asks for one and the sentence holds exactly one such thing the question does not already name.
A sentence that holds two ("announced in February … crossed on Monday") gives none: the bold short answer
is the most visible text of a reply, and a guess between two is wrong half the time."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mali_qa import lexicon
from mali_qa.answer.kinds import (
    DATE_FULL,
    DATE_MONTH,
    DATE_RELATIVE,
    DATE_TIME,
    DATE_YEAR,
    GENERIC,
    KINDS,
    NAMED,
    PERSONNEL,
)
from mali_qa.answer.question import QuestionPart
from mali_qa.names import CALENDAR, QUESTION_WORDS
from mali_qa.text import STOPWORDS, stem, stems_match

#: Said of a date the articles give only as a weekday or a relative time.
NO_CALENDAR_DATE = "the articles give no calendar date"
#: Words between two pieces of one date or time ("December 23, 2021", "Monday at 1 p.m.").
_DATE_JOINT = re.compile(r"^(?:,?\s*|\s+(?:at|on|in|of)\s+)$")
#: Words between two capitalized words of one name ("Emmanuel Macron", "Ministry of Defence").
_NAME_JOINT = re.compile(r"^(?:\s+|\s+(?:of|de|al-|du)\s+)$")
#: Capitalized words that are not the name asked: peoples' adjectives, roles, months and weekdays.
_NOT_A_NAME = (
    frozenset(lexicon.demonyms())
    | frozenset(lexicon.word_list("person_roles"))
    | CALENDAR
    | frozenset({"president", "minister", "prime", "foreign", "defense", "defence", "interim", "colonel"})
    | STOPWORDS
    | QUESTION_WORDS
)
#: A capitalized word: a piece of a name, unless it is a common word ("The", "But") or in _NOT_A_NAME.
CAPITALIZED = re.compile(r"\b[A-Z][\w’'\-]*[\w]")
#: How far after a number its counted noun may stand ("400 Russian military instructors").
COUNT_REACH = 6


@dataclass(frozen=True)
class Short:
    """The exact answer, its offsets into the article, and how to show it."""

    text: str
    start: int
    end: int
    shown: str


def short_answer(part: QuestionPart, sentence: str, offset: int) -> Short | None:
    """The exact answer inside `sentence` (which starts at article offset `offset`), or None when the
    sentence holds none, or more than one, of what the part asks for."""
    spans = _spans(part, sentence)
    distinct = {sentence[s:e].lower() for s, e in spans}
    if len(distinct) != 1:
        return None
    s, e = spans[0]
    text = sentence[s:e]
    shown = text
    if part.kind == "date" and not (
        DATE_FULL.search(text) or DATE_MONTH.search(text) or DATE_YEAR.search(text)
    ):
        shown = f"{text} ({NO_CALENDAR_DATE})"
    return Short(text, offset + s, offset + e, shown)


def _spans(part: QuestionPart, sentence: str) -> list[tuple[int, int]]:
    """The spans of the things asked for in the sentence, pieces of one date or name joined."""
    if part.kind == "date":
        dates: tuple[re.Pattern[str], ...] = (
            (DATE_YEAR,) if part.wants_year else (DATE_FULL, DATE_MONTH, DATE_YEAR, DATE_TIME)
        )
        found = _merged(_matches(part, sentence, dates), sentence, _DATE_JOINT)
        if not found:
            found = _merged(_matches(part, sentence, (DATE_RELATIVE,)), sentence, _DATE_JOINT)
        return found
    patterns = KINDS.get(part.kind, GENERIC).exact or (NAMED if part.wants_name else ())
    if not patterns:
        return []
    if part.kind in ("number", "money", "duration"):
        for pattern in patterns:
            matches = _matches(part, sentence, (pattern,))
            if part.kind == "number":
                matches = [(s, e) for s, e in matches if _counts(part, sentence, s, e)]
            if matches:
                return matches
        return []
    runs = _merged(_names(_matches(part, sentence, (CAPITALIZED,)), sentence), sentence, _NAME_JOINT)
    if part.kind not in ("person", "place"):  # "what was the operation called": the name the noun heads
        named = _headed(part, sentence, runs)
        if named:
            return named
    if part.kind == "person":
        full = [(s, e) for s, e in runs if " " in sentence[s:e]]  # a person's full name, first
        if len({sentence[s:e].lower() for s, e in full}) == 1:
            return full
    return runs


def _matches(
    part: QuestionPart, sentence: str, patterns: tuple[re.Pattern[str], ...]
) -> list[tuple[int, int]]:
    """Spans of every match of the patterns, trimmed of punctuation, that the question does not name."""
    asked = set(part.terms)
    spans = []
    for pattern in patterns:
        for match in pattern.finditer(sentence):
            raw = match.group(0)
            text = raw.strip(" ,.;:")
            words = re.findall(r"[\w’'\-]+", text)
            if not words or all(stem(w) in asked for w in words):
                continue  # the question already names it
            start = match.start() + raw.index(text)
            spans.append((start, start + len(text)))
    return spans


def _counts(part: QuestionPart, sentence: str, start: int, end: int) -> bool:
    """Whether a number is a count (not a year), and of the question's "how many X" noun when it has one."""
    if DATE_YEAR.fullmatch(sentence[start:end]):
        return False
    if not part.counted:
        return True
    target = stem(part.counted)
    group = PERSONNEL if target in PERSONNEL else frozenset({target})
    following = re.findall(r"[\w’'\-]+", sentence[end:])[:COUNT_REACH]
    return any(stem(w) in group or any(stems_match(stem(w), g) for g in group) for w in following)


def _headed(part: QuestionPart, sentence: str, runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The runs that follow a capitalized word the question names ("Operation" of "Operation Serval" when
    the operation's name is asked), that word included."""
    asked = set(part.terms)
    out = []
    for start, end in runs:
        before = re.search(r"([A-Z][\w’'\-]*)\s+$", sentence[:start])
        if before and stem(before.group(1)) in asked:
            out.append((before.start(1), end))
    return out


def _names(spans: list[tuple[int, int]], sentence: str) -> list[tuple[int, int]]:
    """Each span with the capitalized words that are not a name of what is asked (a people's adjective, a
    role, a month) cut from its ends; spans left empty dropped."""
    out = []
    for start, end in spans:
        words = [(m.start() + start, m.end() + start) for m in re.finditer(r"[\w’'\-]+", sentence[start:end])]
        while words and sentence[words[0][0] : words[0][1]].lower() in _NOT_A_NAME:
            words.pop(0)
        while words and sentence[words[-1][0] : words[-1][1]].lower() in _NOT_A_NAME:
            words.pop()
        if words:
            out.append((words[0][0], words[-1][1]))
    return out


def _merged(spans: list[tuple[int, int]], sentence: str, joint: re.Pattern[str]) -> list[tuple[int, int]]:
    """Overlapping spans, and spans next to each other across a joint, as one; in reading order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        if merged and (start <= merged[-1][1] or joint.match(sentence[merged[-1][1] : start])):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
