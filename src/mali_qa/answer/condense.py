"""Offline rewriting of a follow-up question into a standalone one, from the conversation's earlier turns:
pronouns resolved to the entity they most likely point at, ellipsis filled with the earlier question and
the names its answer gave (never the answer's text)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from mali_qa import lexicon
from mali_qa.answer.question import PERSON_ROLES, asked_name
from mali_qa.names import PHRASE, named, new_names_near, phrases, places
from mali_qa.text import STOPWORDS, content_stems, stem, words
from mali_qa.types import NO_ANSWER, Turn

_PERSON_PRONOUNS = {
    "he": "",
    "him": "",
    "his": "'s",
    "she": "",
    "her": "",
    "hers": "'s",
    "himself": "",
    "herself": "",
}
_THING_PRONOUNS = {
    "it": "",
    "its": "'s",
    "they": "",
    "them": "",
    "their": "'s",
    "this": "",
    "that": "",
    "there": "",
}
_PLURAL = frozenset({"they", "them", "their"})
_LEADING = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|and what about|and how about)\b[\s,]*", re.I
)


# -- whether a question reads alone --------------------------------------------------------------------
# A question borrows the earlier turn only when it cannot be read alone: a word in it points at something
# it does not name (a pronoun, "that", "there", "then", "else", "the same", "the one"), or it is a fragment
# of the earlier question (a bare "why?", "and in Chad?", "at whose request", "how many were killed").
# Never because it is short: "who is mali's president" reads alone after any turn.

_CLAUSE_OPENERS = frozenset(lexicon.word_list("clause_openers"))
_TIME_NOUNS = frozenset(lexicon.word_list("time_nouns"))
_PREPOSITIONS = frozenset(lexicon.word_list("prepositions"))
_AUXILIARIES = frozenset(lexicon.word_list("auxiliaries")) | {
    f"{a}{n}" for a in lexicon.word_list("auxiliaries") for n in ("nt", "n't")
}
_DETERMINERS = frozenset(lexicon.word_list("determiners"))
_QUESTION_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how"})
_BE = frozenset({"is", "are", "was", "were", "be", "been", "isnt", "arent", "wasnt", "werent"})
_POSSESSIVE = frozenset({"its", "his", "their", "hers"})
_OBJECT = frozenset({"him", "them"})
_REFLEXIVE = frozenset({"himself", "herself", "itself", "themselves"})
_PERSONAL = frozenset({"he", "him", "his", "she", "her", "hers", "himself", "herself"})
_SINGULAR = frozenset({"it", "its", "itself"})
_POINTING_PHRASES = re.compile(
    r"\b(?:else|the same|the rest|the others?|at the time|(?:the|which|that|this|an?|another)\s+(?:\w+\s+){0,2}"
    r"ones?\b(?!\s+of))\b",
    re.I,
)
_LEADING_CONJUNCTION = re.compile(r"^\s*(?:and|but|also|then)\b[\s,]*", re.I)
_DISCOURSE = re.compile(r"^\s*(?:(?:ok|okay|so|well|btw|alright|right)\b[\s,]*)+", re.I)
_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\b", re.I)
_EXPLETIVE_IT = re.compile(r"\bit\s+(?:takes?|took)\b|\b(?:is|was)\s+it\s+\w+\s+(?:that|to)\b", re.I)
#: A pronoun with a verb glued on ("it's", "they're"): the pronoun.
_CONTRACTED = re.compile(r"^(it|he|she|they)'(?:s|re|ve|d|ll)$", re.I)
_TOKEN = re.compile(r"[A-Za-z0-9][\w’'\-]*|[,;]")


def _noun_like(tokens: list[str], i: int, cased: list[str]) -> bool:
    """Whether token `i` may be what a pronoun later points at: a name (capitalized, possessive, or the
    subject after an auxiliary), or a noun after a determiner, "how many" or "which"."""
    word = tokens[i]
    if word in STOPWORDS or word in (",", ";") or not word[0].isalpha():
        return word == "who"
    if cased[i][0].isupper() and i > 0 or word.endswith("'s") and word[:-2] not in STOPWORDS:
        return True  # "France", "mali's"; not "what's"
    before = next((tokens[j] for j in range(i - 1, -1, -1) if tokens[j] in STOPWORDS), "")
    return before in _DETERMINERS | _AUXILIARIES | {"many", "much", "which"}


def _agrees(pronoun: str, word: str, cased: str) -> bool:
    """Whether `word` may be what `pronoun` points at: "it" never at a person, a person's pronoun never at
    a plural, "they" at anything."""
    plural = word.endswith("s") and not word.endswith(("ss", "us", "is", "'s"))
    if pronoun in _SINGULAR:
        return word != "who" and not plural and stem(word) not in PERSON_ROLES
    if pronoun in _PERSONAL:  # not "UN" nor "the army": an organization is "it"
        return not plural and not (cased.isupper() and len(cased) > 1) and word not in _ORGANIZATION_WORDS
    return True


def _bound(tokens: list[str], cased: list[str], i: int) -> bool:
    """Whether the pronoun at `i` points at something the question itself names: a name before it (across
    a clause opener for an object pronoun or for "who"), or after it past a comma ("Apart from the bases
    it closed, where does the French army ...")."""
    pronoun = tokens[i]
    her_object = pronoun == "her" and (i + 1 == len(tokens) or tokens[i + 1] in STOPWORDS)
    subject = (
        pronoun not in _OBJECT
        and not her_object
        and (pronoun != "it" or i == 0 or tokens[i - 1] in _AUXILIARIES | _QUESTION_WORDS | _CLAUSE_OPENERS)
    )
    for j in range(i - 1, -1, -1):
        if not (_noun_like(tokens, j, cased) and _agrees(pronoun, tokens[j], cased[j])):
            continue
        # a clause opener right before an object pronoun is its preposition ("who arrived after them")
        between = tokens[j + 1 : i if subject else i - 1]
        opened = any(t in _CLAUSE_OPENERS or t in (",", ";") for t in between)
        # only a possessive or a reflexive points at a name of its own clause ("France ... its nine years");
        # "how many Wagner fighters did they kill": "they" are others
        if opened or pronoun in _POSSESSIVE | _REFLEXIVE and tokens[j] != "who":
            return True
    comma = next((k for k in range(i + 1, len(tokens)) if tokens[k] == ","), None)
    return comma is not None and any(
        _noun_like(tokens, k, cased) and _agrees(pronoun, tokens[k], cased[k])
        for k in range(comma + 1, len(tokens))
    )


#: Prepositions that name a place a "there" stands for ("still there in Mali").
_PLACING = ("in", "at", "to", "from", "near")


def _points(tokens: list[str], cased: list[str], i: int) -> bool:
    """Whether the word at `i` points outside the question: a pronoun it does not bind, a demonstrative,
    "there" (not "are there", nor with the place named), "then", a closing "so" or "next"."""
    word, after = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else ""
    before = tokens[i - 1] if i else ""
    if word in _PERSON_PRONOUNS or word in _THING_PRONOUNS and word not in ("this", "that", "there"):
        return not _bound(tokens, cased, i)
    if word in ("this", "these"):
        return after not in _TIME_NOUNS
    if word == "those":
        return True
    if word == "that":
        if not after or after in (",", ";") or not before or before in STOPWORDS - _CLAUSE_OPENERS:
            return True  # "who said that", "when did that happen", "in that city"
        if before in _CLAUSE_OPENERS:
            return False  # "said that France left"
        clause = after in STOPWORDS or after.endswith("ed") or cased[i + 1][0].isupper()
        return not clause  # "the force that France wound down" is a relative; "leave that city" points
    if word == "there":
        existential = after and (before in _BE or after in _BE)  # "are there troops", "there were"
        placed = any(  # "killed in Mali during France's nine years there", "still there in mali"
            tokens[j] in _PLACING and tokens[j + 1] not in STOPWORDS and not tokens[j + 1].isdigit()
            for j in (*range(i - 1), *range(i + 1, len(tokens) - 1))
        )
        return not existential and not placed
    if word == "next":
        return not after  # "what happened next": after the earlier turn's event
    if word == "then":
        return before != "the"
    return word == "so" and (not after or after in (",", ";"))


def pointing_words(question: str) -> list[str]:
    """The words of `question` that point at something it does not name ("he", "that", "there")."""
    cased = [_CONTRACTED.sub(r"\1", t.replace("’", "'")) for t in _TOKEN.findall(question)]
    tokens = [t.lower() for t in cased]
    if _EXPLETIVE_IT.search(question):
        tokens = [t if t != "it" else "" for t in tokens]
    found = [tokens[i] for i in range(len(tokens)) if tokens[i] and _points(tokens, cased, i)]
    return found + [m.group(0).lower() for m in _POINTING_PHRASES.finditer(question)]


def _fragment(question: str) -> bool:
    """Whether the question is a fragment of the earlier one: "what about ...", a sentence with no word of
    content ("why?", "how many?"), "how many" without what it counts, "and"/a preposition before no verb."""
    if _ABOUT.search(question):
        return True
    for sentence in (s for s in re.split(r"[?.!]+", question) if re.search(r"\w", s)):
        sentence = _DISCOURSE.sub("", sentence)  # "ok and in Chad?" is "and in Chad?"
        tokens = words(sentence)
        if not content_stems(sentence):
            return True
        # "how many were killed" counts what the earlier turn named; "how much did Mali pay" is whole
        counted = re.search(r"\bhow (many|much)\b\s*(\w*)", sentence, re.I)
        if counted and (
            not counted.group(2)
            or counted.group(2).lower() in _PREPOSITIONS | {"more"}
            or counted.group(1).lower() == "many"
            and (counted.group(2).lower() in _AUXILIARIES or counted.group(2).endswith("ed"))
        ):
            return True
        rest = _LEADING_CONJUNCTION.sub("", sentence)
        led = rest != sentence or tokens[0] in _PREPOSITIONS
        if led and not any(t in _AUXILIARIES for t in words(rest)):
            return True
    return False


def reads_alone(question: str) -> bool:
    """Whether `question` can be read without the earlier turns: nothing in it points outside it and it is
    not a fragment of the earlier question."""
    return not pointing_words(question) and not _fragment(question)


@dataclass(frozen=True)
class Condensed:
    """A standalone question and the earlier topic's terms, which count as context, not as requirements."""

    question: str
    context: str = ""
    rewritten: bool = False
    context_terms: list[str] = field(default_factory=list)
    #: What retrieval searches for: the question and its context.
    search_text: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "search_text", f"{self.question} {self.context}".strip())


#: Words that make a name an organization's or a place's, not a person's (data/organization_words.txt).
_ORGANIZATION_WORDS = frozenset(lexicon.word_list("organization_words"))


def _person(history: Sequence[Turn]) -> str:
    """The latest turn's first person's surname, of a name of two capitalized words or more, not an
    organization's: news names a person by surname after the first mention, and spells first names
    differently from one article to the next ("Evgueni Prigozhin", "Yevgeny Prigozhin")."""
    for turn in reversed(history):
        content = turn["content"]
        if turn["role"] == "assistant" and content.strip() == NO_ANSWER:
            continue
        multi = [
            n
            for n in phrases(content)
            if len(n.split()) >= 2
            and not n.lower().startswith(("the ", "operation"))
            and not any(w.lower() in _ORGANIZATION_WORDS for w in n.split())
            and stem(n.split()[-1]) not in PERSON_ROLES  # "Russian Foreign Minister" is a title, not a name
        ]
        if multi:
            return multi[0].split()[-1]
    return ""


def _thing(history: Sequence[Turn]) -> str:
    """The earlier question's first named subject, with the plural noun that follows it ("Russian soldiers");
    else, when it asked for a thing's name ("what was the French operation called"), the name its answer
    gave next to that noun ("operation *Barkhane*"); else the answer's first name the question also holds
    ("what is minusma": "MINUSMA")."""
    turns = list(history)
    for i in reversed(range(len(turns))):
        if turns[i]["role"] != "user":
            continue
        question = turns[i]["content"]
        for match in PHRASE.finditer(question):
            name = named(match.group(1))
            if not name:
                continue
            noun = re.match(r"\s+([a-z]+s)\b", question[match.end() :])
            return name + (" " + noun.group(1) if noun and noun.group(1) not in STOPWORDS else "")
        answer = next((t["content"] for t in turns[i + 1 :] if t["role"] == "assistant"), "")
        if not answer or answer.strip() == NO_ANSWER:
            return ""
        head = asked_name(question)
        near = new_names_near(answer, head, frozenset(stem(w) for w in words(question))) if head else ()
        return near[0] if near else _named_again(question, answer)
    return ""


def _named_again(question: str, answer: str) -> str:
    """The first name of the question (typed in lower case) that the answer writes as a name, with the plural
    noun that follows it in the question: "who killed *wagner mercenaries*" answered "... group *Wagner* ..." gives
    "Wagner mercenaries"."""
    question_words = words(question)
    names = [(name, {stem(w) for w in name.split()}) for name in phrases(answer)]
    for i, word in enumerate(question_words):  # the question's first name, as it reads: its subject
        if word in STOPWORDS:
            continue
        word_stem = stem(word)
        found = next((name for name, name_stems in names if word_stem in name_stems), "")
        if found:
            noun = question_words[i + 1] if i + 1 < len(question_words) else ""
            plural = re.fullmatch(r"[a-z]+s", noun) and noun not in STOPWORDS
            return f"{found} {noun}" if plural else found
    return ""


#: The noun phrase a "how many" question counts: up to its verb ("how many *Russian military personnel* could
#: be"), else its first plural noun ("how many *countries* condemned").
_COUNTED = re.compile(
    r"\bhow many ((?:[\w’'\-]+ ){0,3}?[\w’'\-]+?)(?= (?:are|were|is|was|do|does|did|could|can|have|has|had|"
    r"will|would|should|might|may|remain|stay)\b)|\bhow many ((?:[\w’'\-]+ ){0,2}?[a-z]+s)\b",
    re.I,
)


def _counted(history: Sequence[Turn]) -> str:
    """What the latest earlier question counted, when it asked "how many" ("" otherwise)."""
    question = next((t["content"] for t in reversed(history) if t["role"] == "user"), "")
    match = _COUNTED.search(question)
    return (match.group(1) or match.group(2)) if match else ""


def _place(history: Sequence[Turn]) -> str:
    for turn in reversed(history):
        found = places(turn["content"])
        if found:
            return found[-1]
    return ""


def condense(question: str, history: Sequence[Turn] | None) -> Condensed:
    """The standalone form of `question` given the earlier turns (unchanged when there is no history)."""
    if not history or reads_alone(question):
        return Condensed(question=question)
    tokens = words(question)
    pointing = set(pointing_words(question))
    stripped = _LEADING.sub("", question).strip() or question
    rewritten = stripped != question
    out = stripped
    person, thing, counted = _person(history), _thing(history), _counted(history)
    for pronoun, suffix in {**_PERSON_PRONOUNS, **_THING_PRONOUNS}.items():
        if pronoun not in tokens or pronoun not in pointing:
            continue  # "where did the French army close its bases": "its" is the army's
        if pronoun == "there":
            target = _place(history)
        else:
            # "it" points at a thing, never at a person; "they" may point at people
            fallback = person if pronoun in _PLURAL else ""
            target = person if pronoun in _PERSON_PRONOUNS else (thing or fallback)
            if pronoun in _PLURAL and counted:
                target = counted  # "how many Russian soldiers ...?" "where are they?": the soldiers
        if pronoun in ("this", "that", "there") and not re.search(rf"\b{pronoun}\s*[?.!]?$", out, re.I):
            continue  # "this operation": a determiner, not a pronoun
        if target:
            out = re.sub(rf"\b{pronoun}\b", target + suffix, out, count=1, flags=re.I)
            rewritten = True
    earlier_user = next((t["content"] for t in reversed(history) if t["role"] == "user"), "")
    earlier_answer = next(
        (
            t["content"]
            for t in reversed(history)
            if t["role"] == "assistant" and t["content"].strip() != NO_ANSWER
        ),
        "",
    )
    # A question that cannot be read alone borrows the earlier turn as context: the earlier question, and
    # the names the earlier answer gave (what "he" or "there" may point at), never that answer's text.
    context = " ".join([earlier_user, *phrases(earlier_answer)]).strip()
    own = set(content_stems(out))
    context_terms = [t for t in content_stems(context) if t not in own and not t.isdigit()]
    return Condensed(
        question=out, context=context, rewritten=rewritten or bool(context), context_terms=context_terms
    )
