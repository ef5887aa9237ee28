"""What a question asks for: its kind of answer (date, number, person, place, list, reason), its parts, the
noun naming what it asks for and the name it asks; `answer.kinds` tells whether a sentence holds that kind."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mali_qa import lexicon
from mali_qa.text import content_stems, stem

_NAME_ASKED = re.compile(r"\b(?:name|names|named|called)\b", re.I)


@dataclass(frozen=True)
class QuestionPart:
    """One part of a question: its text, the kind of answer it asks for, its content stems and more."""

    text: str
    kind: str
    terms: tuple[str, ...]
    wants_full_date: bool = False
    wants_year: bool = False
    heads: frozenset[str] = frozenset()
    counted: str = ""  # the noun of "how many X"
    needs_name: bool = False  # "who is the president": a role will not do, a name is asked
    name_head: str = ""  # the noun whose name is asked ("the name of the *operation*"), as a stem
    #: Whether it asks for a name ("what is the name of", "what was it called", "who"): set from the rest.
    wants_name: bool = field(init=False)

    def __post_init__(self) -> None:
        asks = self.kind in ("person", "place") or bool(_NAME_ASKED.search(self.text))
        object.__setattr__(self, "wants_name", asks)


#: How a question's wording shows the kind of answer it asks for, tried in order on the lower-cased question:
#: (pattern, kind, wants_full_date, wants_year); a question matching none is "generic".
QUESTION_KINDS: tuple[tuple[re.Pattern[str], str, bool, bool], ...] = tuple(
    (re.compile(pattern), kind, full, year)
    for pattern, kind, full, year in (
        (
            r"\bhow much (?:money|cash)|\bhow much .*\b(?:pay|paid|cost|costs|spend|spent|earn)\b"
            r"|\bwhat (?:did|does) .* (?:pay|cost)\b",
            "money", False, False,
        ),
        (r"\b(?:what|which) (?:date|day)\b|\bon what date\b", "date", True, False),
        (r"\b(?:what|which|in what) years?\b", "date", False, True),
        (
            r"\bhow long\b(?! ago)|\bfor how many (?:years|months|weeks|days)\b|\bover how many days\b",
            "duration", False, False,
        ),
        (r"^\W*when\b|\b(?:what|which) (?:month|time)\b|\bhow long ago\b", "date", False, False),
        (
            r"\bhow (?:many|much|large|big|long|far|old|strong)\b"
            r"|\b(?:what|which) (?:number|percentage|share|proportion|amount|size)\b"
            r"|\b(?:population|budget|salary|price|death toll|casualties|gdp)\b",
            "number", False, False,
        ),
        # "when" further on asks for a date, unless another question word opens the question: "where was the
        # convoy going when it was attacked" asks for a place, the "when" opens a clause
        (r"^(?!\W*(?:who|whom|whose|where|why|what|which|how)\b).*\bwhen\b", "date", False, False),
        (
            r"\b(?:which|what) (?:\w+ ){0,2}(?:countries|towns|cities|bases|regions|groups|places|nations|people"
            r"|organizations)\b|\blist\b|\bname (?:the|all)\b",
            "list", False, False,
        ),
        (
            r"^\W*(?:who|whom|whose)\b"
            r"|\b(?:which|what) (?:person|official|leader|minister|president|spokes\w+|commander|man|woman)\b",
            "person", False, False,
        ),
        (
            r"^\W*where\b|\b(?:which|what) (?:town|city|country|region|village|place|base|area|capital)\b",
            "place", False, False,
        ),
        (
            r"^\W*why\b|\bwhat (?:is|was) the (?:reason|purpose|aim|goal)\b|\bfor what purpose\b",
            "reason", False, False,
        ),
    )
)  # fmt: skip


def classify(question: str) -> tuple[str, bool, bool]:
    """(kind, wants_full_date, wants_year) of one question."""
    q = question.lower().strip()
    for pattern, kind, full, year in QUESTION_KINDS:
        if pattern.search(q):
            return kind, full, year
    return "generic", False, False


_SPLIT = re.compile(
    r",?\s+and\s+(?=(?:(?:in|on|at|under|from|to|for|by|with|since|after|before)\s+)?"
    r"(?:how|what|when|where|who|whom|which|why)\b)"
    r"|\s+(?:vs\.?|versus)\s+",
    re.I,
)


_FRAME = re.compile(
    r"\b(?:on |in )?(?:what|which) (?:date|day|year|years|month|time)\b|\bhow (?:large|big|long|far|old|strong)\b",
    re.I,
)


def question_terms(text: str) -> tuple[str, ...]:
    """Content stems of a question, without the words that only frame it ("on what date")."""
    return tuple(content_stems(_FRAME.sub(" ", text)))


#: A pronoun that points back at what an earlier part of the question asked about ("who owned Wagner and
#: what happened to *him*").
POINTING_BACK = re.compile(r"\b(?:he|him|his|she|her|it|its|they|them|their|there|that)\b", re.I)


def parts(question: str, *, keep_pointing: bool = False) -> list[QuestionPart]:
    """The question's parts ("How large was X, and how many Y?" has two), each with its own kind. A later
    part of fewer than two content words is no part of its own ("How many X did Y kill, and where?"), unless
    `keep_pointing` and it points back with a pronoun, which the caller resolves (`resolve_pointing`)."""
    pieces = [p.strip(" ,?") for p in _SPLIT.split(question) if p.strip(" ,?")]
    if len(pieces) > 1 and any(
        len(content_stems(p)) < 2 and not (keep_pointing and POINTING_BACK.search(p)) for p in pieces[1:]
    ):
        pieces = [question]  # "How many X did Y kill, and where?": one question asking two things
    out = []
    for piece in pieces:
        kind, full, year = classify(piece)
        head = asked_name(piece)
        person_name = head in PERSON_ROLES
        if person_name and kind == "generic":
            kind = "person"  # "what is the name of the army spokesman": a person's name is asked
        heads = answer_class(piece) if kind in ("list", "place", "person") else frozenset()
        counted = re.search(r"\bhow many (?:[\w\-]+ ){0,2}?([a-z]+s)\b", piece, re.I)
        out.append(
            QuestionPart(
                text=piece,
                kind=kind,
                terms=question_terms(piece),
                wants_full_date=full,
                wants_year=year,
                heads=heads,
                counted=counted.group(1) if counted else "",
                needs_name=person_name
                or bool(re.match(r"\W*who (?:is|was|are|were) (?:the|a|an) ", piece, re.I)),
                name_head="" if person_name else head,
            )
        )
    if len(out) == 1 and re.search(r",?\s+and\s+(where|when|why|how)\W*$", question, re.I):
        extra = classify(re.search(r"(where|when|why|how)\W*$", question, re.I).group(1))[0]  # type: ignore[union-attr]
        out.append(
            QuestionPart(text=question, kind="place" if extra == "generic" else extra, terms=out[0].terms)
        )
    return out


_HEAD = re.compile(
    r"\b(?:(?:what|which) (?:is|was|are|were) the (?:number|amount|size) of (?:the |a |an )?"
    r"|how (?:much|many) |who (?:is|was|are|were) the "
    r"|(?:what|which) (?:is|was|are|were) (?:the )?[\w’'\-]+(?:’s|'s) "
    r"|(?:what|which) (?:is|was|are|were) the (?=[\w\-]+ (?:in|of|at|for) ))"
    r"((?:[\w’'\-]+ ){0,3}?[\w’'\-]+?)(?= (?:is|was|are|were|did|does|do|has|have|had|will|would|could|can|in|of|"
    r"at|on|for|from|to|that|does|with|by)\b|\?|$)",
    re.I,
)


_CLASS = re.compile(r"\b(?:which|what)((?:\s+[\w\-’']+){1,4})", re.I)


def answer_class(question: str) -> frozenset[str]:
    """Stems of the noun naming what the answer is an instance of ("which other *countries*",
    "which northern Malian *towns*"): an answer names Niger, not "countries"."""
    found = set()
    for match in _CLASS.finditer(question):
        for word in match.group(1).lower().split():
            if word in ANSWER_CLASSES:
                found.add(stem(word))
            if word in ANSWER_CLASSES or word in _AUXILIARIES:
                break  # "what currency do people use": the class is "currency", not "people"
    return frozenset(found)


_AUXILIARIES = frozenset(lexicon.word_list("auxiliaries"))
#: Nouns that name a class of answers rather than a fact to match (data/answer_classes.txt).
ANSWER_CLASSES = frozenset(lexicon.word_list("answer_classes"))


def question_heads(question: str) -> list[str]:
    """The nouns naming what a question asks for: "how much *money*", "the name of the Russian *commander*"."""
    named = [w for w in name_phrase(question) if w.lower() not in _NOT_HEADS]
    heads = [re.sub(r"[’']s$", "", named[-1])] if named else []
    for match in _HEAD.finditer(question):
        tokens = [
            t for t in match.group(1).split() if t.lower() not in _NOT_HEADS and not t.lower().endswith("ed")
        ]
        if tokens:
            heads.append(tokens[-1])
    return heads


#: Words never the head noun of what a question asks for (data/not_heads.txt).
_NOT_HEADS = frozenset(lexicon.word_list("not_heads"))


_NAME_OF = re.compile(
    r"\bnames? of (?:the |a |an )?([^?,.!]+)"
    r"|^\W*(?:what|how)(?: is| was| are| were|[’']?s) (?:the |a |an )?(.+?) called\b",
    re.I,
)
#: Words that end the noun phrase of "the name of the French operation *in* Mali" (data/phrase_ends.txt).
_PHRASE_END = frozenset(lexicon.word_list("phrase_ends"))
#: Words that point back at something named before (data/pointers.txt).
_POINTERS = frozenset(lexicon.word_list("pointers"))
#: Nouns for a person's role (data/person_roles.txt), as stems.
PERSON_ROLES = frozenset(stem(w) for w in lexicon.word_list("person_roles"))


def name_phrase(question: str) -> list[str]:
    """The words of the noun phrase whose name a question asks for ("what is the name of *the French
    operation* in Mali", "what was *that force* called", without the pointer), or [] when it asks for none."""
    match = _NAME_OF.search(question)
    if not match:
        return []
    phrase: list[str] = []
    found = re.findall(r"[\w’'\-]+", match.group(1) or match.group(2))
    for i, word in enumerate(found):
        if not phrase and word.lower() in _POINTERS:
            continue  # "what was *that* operation called"
        if word.lower() in _PHRASE_END or (phrase and _modifier_verb(word, found[i + 1 : i + 2])):
            break
        phrase.append(word)
    return phrase


#: Determiners (data/determiners.txt).
_DETERMINERS = frozenset(lexicon.word_list("determiners"))


def _modifier_verb(word: str, following: list[str]) -> bool:
    """Whether a word after the noun starts a clause on it: a past participle ("the force *led* by
    France"), or an -ing verb taking an object ("the commander *leading* the troops"; not "the
    *peacekeeping* mission")."""
    lower = word.lower()
    return lower.endswith("ed") or (
        lower.endswith("ing") and bool(following) and following[0].lower() in _DETERMINERS
    )


def asked_name(question: str) -> str:
    """The stem of the noun whose name a question asks for ("what is the name of the French *operation*",
    "what was that *force* called"), or "" when it asks for no name."""
    phrase = name_phrase(question)
    return stem(re.sub(r"[’']s$", "", phrase[-1].lower())) if phrase else ""
