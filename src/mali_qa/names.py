"""Names in text, the one home of every name detector: a person's name, a proper name, a capitalized word
that is not a sentence's first, a capitalized phrase, the names next to a noun, a page's topics. The answer
stage and the page both read names through this module. Light: the standard library and `mali_qa.text`.

Each detector answers a different question of the same idea (a capital that is not a sentence's first and
not a common word), and the fitted scorer was fitted on each one's exact output: they stay apart here, each
named for what it is asked."""

from __future__ import annotations

import re

from mali_qa import cache, lexicon
from mali_qa.text import STOPWORDS, stem

# Month names and the abbreviations news style writes before a day, with their full stop ("Sept."),
# weekday names: capitalized (data/months.txt, month_abbreviations.tsv, weekdays.txt).
MONTH = "(?:{})".format(
    "|".join(
        [re.escape(m.capitalize()) for m in lexicon.months()]
        + [re.escape(a.capitalize() + ".") for a in lexicon.dated_month_abbreviations()]
    )
)
WEEKDAY = "(?:{})".format("|".join(re.escape(d.capitalize()) for d in lexicon.weekdays()))
#: Month and weekday names, lower case: capitalized, yet a time and not a name.
CALENDAR = frozenset(lexicon.months()) | frozenset(lexicon.weekdays())

#: Someone named, or a role that stands for someone ("the army spokesman", "a Western security official"),
#: or an organization's acronym ("JNIM").
PERSON = re.compile(
    r"\b(?:President|Minister|Colonel|Col\.|General|Gen\.|spokes(?:man|woman|person)|officials?|officers?|"
    r"diplomats?|ministers?|presidents?|commanders?|leaders?|analysts?|residents?|ambassadors?|"
    r"correspondents?|businessman|junta)\b|"
    rf"\b(?!{MONTH}\b|{WEEKDAY}\b)[A-Z][a-z]+(?:-[A-Z][a-z]+)?\s+(?:[A-Z][a-z]+\s+)?[A-Z][a-z]{{2,}}\b|"
    r"\b[A-Z]{3,}\b"
)
#: A person's name: two or three capitalized words ("Emmanuel Macron", "Anne-Claire Legendre").
NAME = re.compile(
    rf"\b(?!{MONTH}\b|{WEEKDAY}\b|The\b|In\b|On\b)[A-Z][a-z]+(?:-[A-Z][a-z]+)?\s+(?:[A-Z][a-z]+\s+)?"
    r"[A-Z][a-z]{2,}\b"
)
#: A proper name: a capitalized word of three letters or more, not a sentence's first.
PROPER = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z\-’']{2,}")
#: A capitalized phrase ("Wagner Group", "Ministry of Defence", "Ahmed al-Hassan").
PHRASE = re.compile(r"(?<![\w’'])([A-Z][\w’'\-]+(?:\s+(?:of\s+|al-|de\s+|the\s+)?[A-Z][\w’'\-]+)*)")
#: A place named after a preposition ("in *Timbuktu*", "near the *Niger* border"): the name.
PLACE = re.compile(r"\b(?:in|at|to|from|near)\s+((?:the\s+)?[A-Z][\w’'\-]+(?:\s+[A-Z][\w’'\-]+)*)")
#: Who reported it ("per VOA", "according to Reuters"): a name, but not what a question asks about.
ATTRIBUTION = re.compile(
    r"\b(?:per|according to|as reported by|reported by)\s+(?:the\s+)?(?:[A-Z][\w.\-]*\s*){1,3}(?=[,?.]|$)"
)
#: A list's item: a capitalized word of four letters or more ("Niger", "Gao").
ITEM = re.compile(r"\b[A-Z][a-z]{3,}\b")
#: A token of a question or a claim: a word or a number.
TOKEN = re.compile(r"[A-Za-z0-9][\w’'\-]*")
#: Words a question writes with a capital that name nothing ("What", "According") (data/question_words.txt).
QUESTION_WORDS = frozenset(lexicon.word_list("question_words"))
#: A page's topics: capitalized runs joined by "of", "the", "de", "al", "du".
_RUN = re.compile(r"\b[A-Z][\w’'-]*[A-Za-z](?:\s+(?:of|the|de|al|du)?\s*[A-Z][\w’'-]*[A-Za-z])*")
_RUN_LEADING = re.compile(r"^(?:The|A|An|In|On|At|But|And|As|After|Before|This|That|These|Last|Since)\s+")
#: How many words from the noun whose name is asked the name may stand ("the village *of* Djallo").
NAME_REACH = 2


def is_name(position: int, token: str, common: frozenset[str]) -> bool:
    """Whether a token reads as a name: capitalized, not the first of its text, not a `common` word."""
    return position > 0 and token[0].isupper() and token.lower() not in common


def specific_tokens(text: str) -> list[str]:
    """The tokens a claim cannot make up: numbers, codes with digits, and names (capitalized, not first)."""
    return [
        t
        for i, t in enumerate(TOKEN.findall(text))
        if any(ch.isdigit() for ch in t) or is_name(i, t, STOPWORDS)
    ]


def places(text: str) -> list[str]:
    """The places a text names after a preposition, in order."""
    return PLACE.findall(text)


def items(text: str) -> set[str]:
    """The items a list sentence names (capitalized words of four letters or more)."""
    return set(ITEM.findall(text))


def new_person_name(sentence: str, asked: frozenset[str]) -> bool:
    """Whether the sentence holds a person's name (two or three capitalized words) with a word the question
    does not hold, and not the surname of one it does ("Yevgeny Prigozhin" is the Prigozhin asked about)."""
    return any(
        stem(words[-1]) not in asked and any(stem(word) not in asked for word in words)
        for words in (m.group(0).split() for m in NAME.finditer(sentence))
    )


@cache.memo(maxsize=20_000)
def new_names_near(text: str, head: str, asked: frozenset[str]) -> tuple[str, ...]:
    """The capitalized names of `text` (not a people, month or weekday, not `asked`) standing within
    NAME_REACH words of the noun `head` when the text holds it ("Operation *Serval*")."""
    words = re.findall(r"[\w’'\-]+", text)
    demonyms = lexicon.demonyms()
    names = [
        i
        for i, w in enumerate(words)
        if i > 0
        and w[:1].isupper()
        and len(w) > 2
        and w.lower() not in demonyms
        and w.lower() not in CALENDAR
        and stem(w) not in asked
    ]
    heads = [i for i, w in enumerate(words) if head and stem(w) == head]
    if heads:
        names = [i for i in names if any(abs(i - h) <= NAME_REACH for h in heads)]
    return tuple(words[i] for i in names)


#: Capitalized words that name a time, not an entity ("*Last June*", "*Today* at 1 p.m.").
_TIME_WORDS = CALENDAR | {"today", "last", "next", "this"}
#: A name with the next sentence's first word glued on, as some sources print it ("Sergei Lavrov*He* said").
_GLUED = re.compile(r"(?<=[a-z])([A-Z][a-z]+)$")


def phrases(text: str) -> list[str]:
    """Capitalized phrases, skipping a sentence's first word when it is a common word, and times."""
    return [name for match in PHRASE.finditer(text) if (name := named(match.group(1)))]


def named(phrase: str) -> str:
    """A capitalized phrase without the common word that opens a sentence ("*Which* UN mission"), or "" when
    nothing is left or it names a time ("Last June" is when, not who or what)."""
    words = [_GLUED.sub(_unglued, w) for w in phrase.split()]
    if words[0].lower() in STOPWORDS:
        words = words[1:]
    if not words or any(w.lower() in _TIME_WORDS for w in words):
        return ""
    return " ".join(words)


def _unglued(match: re.Match[str]) -> str:
    return "" if match.group(1).lower() in STOPWORDS else match.group(1)


def topics(text: str, lowercase_words: set[str]) -> list[str]:
    """The names in `text` ("Wagner Group", "Timbuktu") a page suggests: capitalized runs, without a leading
    "The" and without single words the articles also write in lower case (a capital at a sentence's start)."""
    out: list[str] = []
    for match in _RUN.finditer(text):
        name = _RUN_LEADING.sub("", match.group(0)).strip(" ’'-")
        words = name.split()
        if not words or len(name) < 3 or len(words) > 4:
            continue
        if len(words) == 1 and (name.lower() in lowercase_words or name.lower() in CALENDAR):
            continue
        if all(w.lower() in CALENDAR for w in words):
            continue
        out.append(name)
    return out
