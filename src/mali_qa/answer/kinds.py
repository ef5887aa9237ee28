"""The kinds of answer a question asks for (date, number, money, person, place, list, reason), in one table:
the patterns that show each kind in a sentence, read by the kind score, the features and the short answer,
and how well a sentence holds an answer of the kind."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mali_qa import cache, lexicon
from mali_qa.answer.question import QuestionPart
from mali_qa.names import MONTH, NAME, PERSON, PROPER, WEEKDAY, new_person_name
from mali_qa.text import stem, stems_match

DATE_FULL = re.compile(rf"\b{MONTH}\s+\d{{1,2}}\b|\b\d{{1,2}}\s+{MONTH}")
DATE_TIME = re.compile(
    rf"\b{WEEKDAY}\b|\b\d{{1,2}}(?::\d\d)?\s*(?:a\.m\.|p\.m\.)|\b\d{{1,2}}:\d\d\s*GMT\b|\btoday\b", re.I
)
DATE_MONTH = re.compile(rf"\b{MONTH}\b(?:\s+\d{{4}})?")
DATE_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
DATE_RELATIVE = re.compile(
    r"\b(?:last|next|this|previous|recent|late|early|end of)\s+(?:week|weeks|month|months|year|years|decade)\b|"
    r"\b(?:yesterday|tomorrow|since)\b",
    re.I,
)
# Number words, "one" to "several hundred" (data/number_words.tsv).
_NUMBER_WORDS = "|".join(re.escape(w) for w in lexicon.number_words())
NUMBER = re.compile(rf"\b\d[\d,.]*\b(?!\s*(?:GMT|a\.m|p\.m))|\b(?:{_NUMBER_WORDS})\b", re.I)
DURATION = re.compile(
    rf"\b(?:\d+|{_NUMBER_WORDS}|a|several|few)[- ](?:years?|months?|weeks?|days?|hours?|decades?)\b", re.I
)
MONEY = re.compile(
    r"[$€£]\s?\d|\b\d[\d,.]*\s*(?:dollars|euros|francs|CFA|USD|EUR|rubles|roubles)\b|\b(?:dollars|euros|francs|rubles)\b",
    re.I,
)
REASON = re.compile(
    r"\bto\s+[a-z]+\b|\bbecause\b|\bdue to\b|\bin order to\b|\bamid\b|\bin response\b|\bafter\b|\bfollowing\b|"
    r"\bso that\b|\bas part of\b",
    re.I,
)


@dataclass(frozen=True)
class Kind:
    """One kind of answer. `holds`: what shows the kind in a sentence, for the kind score (fine: money is
    MONEY). `shape`: what counts as a new answer of the kind, for the features (broad: money is a NUMBER).
    `exact`: where the short answer is found, best first. `strict`: a sentence without it cannot answer."""

    holds: tuple[re.Pattern[str], ...]
    shape: tuple[re.Pattern[str], ...]
    exact: tuple[re.Pattern[str], ...]
    strict: bool = False


_DATES = (DATE_FULL, DATE_TIME, DATE_MONTH, DATE_YEAR)
#: Every kind of answer and its patterns; a kind not listed is "generic".
KINDS: dict[str, Kind] = {
    "date": Kind(
        (*_DATES, DATE_RELATIVE), _DATES, (DATE_FULL, DATE_MONTH, DATE_YEAR, DATE_TIME, DATE_RELATIVE), True
    ),
    "number": Kind((NUMBER,), (NUMBER,), (NUMBER,), True),
    "duration": Kind((DURATION,), (NUMBER,), (DURATION,), True),
    "money": Kind((MONEY,), (NUMBER,), (MONEY,), True),
    "person": Kind((PERSON, NAME), (NAME,), (NAME, PROPER), True),
    "place": Kind((PROPER,), (PROPER,), (PROPER,)),
    "list": Kind((PROPER,), (PROPER,), ()),
    "reason": Kind((REASON,), (PROPER, NUMBER), ()),
}
#: A kind the table does not name: any name or number is a new answer; no short answer.
GENERIC = Kind((), (PROPER, NUMBER), ())
#: Where a name is asked of a question of no other kind ("what was the operation called").
NAMED = (NAME, PROPER)
#: Kinds whose answer must be in the sentence: without one, the sentence cannot answer.
STRICT_KINDS = frozenset(name for name, kind in KINDS.items() if kind.strict)


#: Words for people under arms: "how many soldiers" is answered by "about 1,000 troops" (data/personnel.txt).
PERSONNEL = frozenset(stem(w) for w in lexicon.word_list("personnel"))


@cache.memo(maxsize=65_536)
def counts_head(sentence: str, head: str) -> bool:
    """Whether a number in the sentence counts the question's head noun ("59 French soldiers")."""
    target = stem(head)
    group = PERSONNEL if target in PERSONNEL else frozenset({target})
    tokens = re.findall(r"[\w’'\-,.]+", sentence)
    for i, token in enumerate(tokens):
        word = stem(token.strip(",."))
        counted = word in group or any(stems_match(word, g) for g in group)
        if counted and NUMBER.search(" ".join(tokens[max(0, i - 5) : i])):
            return True
    return False


def kind_score(
    kind: str,
    sentence: str,
    *,
    full_date: bool = False,
    year: bool = False,
    counted: str = "",
    needs_name: bool = False,
    asked: frozenset[str] = frozenset(),
) -> float:
    """How well a sentence holds an answer of this kind, 0 (not at all) to 1; for "how many X", only a
    number that counts X will do."""
    if kind == "date":
        if year:
            return 1.0 if DATE_YEAR.search(sentence) else 0.0
        if DATE_FULL.search(sentence):
            return 1.0
        if DATE_TIME.search(sentence):
            return 0.5 if full_date else 0.9
        if DATE_MONTH.search(sentence):
            return 0.6
        if DATE_YEAR.search(sentence):
            return 0.4 if full_date else 0.6
        return 0.25 if DATE_RELATIVE.search(sentence) else 0.0
    if kind == "number":
        numbers = [m.group(0) for m in NUMBER.finditer(sentence) if not DATE_YEAR.fullmatch(m.group(0))]
        if counted and numbers:
            return 1.0 if counts_head(sentence, counted) else 0.0  # a number, but of something else
        return 1.0 if numbers else 0.0
    if kind == "person" and needs_name:
        # a name the question does not already hold ("the French Foreign Ministry" answers no "who is")
        return 1.0 if new_person_name(sentence, asked) else 0.0
    if kind == "list":
        return min(1.0, len({m.group(0) for m in PROPER.finditer(sentence)}) / 3)
    if kind in KINDS:
        found = KINDS[kind].holds[0].search(sentence)
        return 1.0 if found else (0.3 if kind == "reason" else 0.0)
    return 0.5


@cache.memo(maxsize=65_536)
def part_kind_score(part: QuestionPart, sentence: str) -> float:
    """`kind_score` of a sentence for what one question part asks."""
    return kind_score(
        part.kind,
        sentence,
        full_date=part.wants_full_date,
        year=part.wants_year,
        counted=part.counted,
        needs_name=part.needs_name,
        asked=frozenset(part.terms),
    )
