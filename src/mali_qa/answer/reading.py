"""Reading the question, the first step of every offline answer: its parts, the peoples and places it names,
the names and numbers of it no article holds and the class of thing it asks for that no article mentions
(either one: no article can answer), and the rewriting of a part that points back at an earlier one."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mali_qa import lexicon
from mali_qa.answer.condense import Condensed, condense
from mali_qa.answer.question import ANSWER_CLASSES, POINTING_BACK, QuestionPart, parts, question_heads
from mali_qa.answer.vocabulary import Vocabulary
from mali_qa.names import QUESTION_WORDS, TOKEN, is_name
from mali_qa.text import stem
from mali_qa.types import Turn

#: Classes whose members an answer names without naming the class ("which countries" -> "Niger").
GENERIC_CLASSES = ANSWER_CLASSES | frozenset(lexicon.word_list("generic_classes"))

_ATTRIBUTION = re.compile(
    r"\b(?:per|according to|as reported by|reported by)\s+(?:the\s+)?(?:[A-Z][\w.\-]*\s*){1,3}(?=[,?.]|$)"
)
_SUBJECT_WORD = re.compile(r"[A-Za-z][\w’'\-]*")


@dataclass(frozen=True)
class Reading:
    """What the engines read off one (condensed) question before looking at any sentence."""

    condensed: Condensed
    parts: list[QuestionPart]  # the question's parts
    pointing: list[QuestionPart]  # the same, a later part that points back kept (see `resolve_pointing`)
    subjects: frozenset[str]  # the stems of the peoples and places it names
    unknown_names: list[str]  # its names and numbers that no article holds
    missing_head: str  # the class of thing it asks for, when no article mentions it

    @property
    def question(self) -> str:
        return self.condensed.question

    @property
    def unanswerable(self) -> bool:
        """No article can answer: a name no article holds, or a class of thing none mentions."""
        return bool(self.unknown_names or self.missing_head)


def read(condensed: Condensed, vocabulary: Vocabulary) -> Reading:
    question = condensed.question
    return Reading(
        condensed,
        parts(question),
        parts(question, keep_pointing=True),
        subject_stems(question),
        unknown_names(question, vocabulary),
        missing_head(question, vocabulary),
    )


def unknown_names(question: str, vocabulary: Vocabulary) -> list[str]:
    """Names and numbers of the question that no article contains: then no article can answer it."""
    # "per VOA", "according to Reuters": who reported it, not what is asked; the outlet may go unnamed
    question = _ATTRIBUTION.sub(" ", question)
    return [
        token
        for i, token in enumerate(TOKEN.findall(question))
        if (is_name(i, token, QUESTION_WORDS) or (token.isdigit() and len(token) >= 2))
        and vocabulary.frequency(stem(token)) == 0
    ]


def missing_head(question: str, vocabulary: Vocabulary) -> str:
    """The class of thing the question asks for ("the name of the Russian *commander*", "how much *money*")
    when no article ever mentions it: then no article can answer."""
    for head in question_heads(question):
        if head.lower() not in GENERIC_CLASSES and vocabulary.frequency(stem(head)) == 0:
            return head
    return ""


def subject_stems(question: str) -> frozenset[str]:
    """The stems of the peoples and places a question names ("Russian soldiers": russia), which the
    answering sentence must share: "59 French soldiers" does not answer "how many Russian soldiers"."""
    demonyms = lexicon.demonyms()
    found = set()
    for i, word in enumerate(_SUBJECT_WORD.findall(question)):
        lower = word.lower()
        if lower in demonyms:
            found.add(demonyms[lower])
        elif is_name(i, word, frozenset()):
            found.add(stem(word))
    return frozenset(found)


def resolve_pointing(reading: Reading, best: Callable[[QuestionPart], str]) -> list[QuestionPart]:
    """The question's parts (with terms), a later one that points back with a pronoun rewritten as a
    follow-up of the first part and `best(first part)`, the sentence that answers that best ("who owned
    Wagner and what happened to *him*": "what happened to Evgueni Prigozhin"); `best` is asked only then,
    and gives "" when there is no sentence."""
    qparts = reading.pointing
    if len(qparts) < 2 or not qparts[0].terms:
        return [p for p in qparts if p.terms]
    first = qparts[0]
    answer = best(first)
    if not answer:
        return [p for p in qparts if p.terms]
    history: list[Turn] = [
        {"role": "user", "content": first.text},
        {"role": "assistant", "content": answer},
    ]
    resolved = [first]
    for part in qparts[1:]:
        if POINTING_BACK.search(part.text):
            rewritten = condense(part.text, history).question
            if rewritten != part.text:
                part = parts(rewritten)[0]
        resolved.append(part)
    return [p for p in resolved if p.terms]
