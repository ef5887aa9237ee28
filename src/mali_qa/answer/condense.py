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
    """The latest turn's first person's name: two capitalized words or more, not an organization's."""
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
            return multi[0]
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
    if not history:
        return Condensed(question=question)
    tokens = words(question)
    stripped = _LEADING.sub("", question).strip() or question
    rewritten = stripped != question
    out = stripped
    person, thing, counted = _person(history), _thing(history), _counted(history)
    for pronoun, suffix in {**_PERSON_PRONOUNS, **_THING_PRONOUNS}.items():
        if pronoun not in tokens:
            continue
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
    # Only a question that needs the history (a pronoun resolved, a leading "and", two content words or
    # fewer) borrows the earlier turn as context: the earlier question, and the names the earlier answer
    # gave (what "he" or "there" may point at), never that answer's text. A self-contained question is
    # searched as typed.
    needs_history = rewritten or len(content_stems(out)) <= 2
    context = " ".join([earlier_user, *phrases(earlier_answer)]).strip() if needs_history else ""
    own = set(content_stems(out))
    context_terms = [t for t in content_stems(context) if t not in own and not t.isdigit()]
    return Condensed(
        question=out, context=context, rewritten=rewritten or bool(context), context_terms=context_terms
    )
