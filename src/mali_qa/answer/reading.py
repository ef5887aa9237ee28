"""Reading the question, the first step of every offline answer: its parts, the peoples and places it names,
the names and numbers of it no article holds and the class of thing it asks for that no article mentions
(either one: no article can answer), and the rewriting of a part that points back at an earlier one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mali_qa import lexicon
from mali_qa.answer.condense import Condensed, condense
from mali_qa.answer.question import ANSWER_CLASSES, POINTING_BACK, QuestionPart, parts, question_heads
from mali_qa.answer.vocabulary import Vocabulary
from mali_qa.names import ATTRIBUTION, QUESTION_WORDS, TOKEN, is_name
from mali_qa.text import stem
from mali_qa.types import Turn

#: Classes whose members an answer names without naming the class ("which countries" -> "Niger").
GENERIC_CLASSES = ANSWER_CLASSES | frozenset(lexicon.word_list("generic_classes"))

_SUBJECT_WORD = re.compile(r"[A-Za-z][\w’'\-]*")


@dataclass(frozen=True)
class Reading:
    """What the engines read off one (condensed) question before looking at any sentence."""

    condensed: Condensed
    parts: list[QuestionPart]  # the question's parts
    pointing: list[QuestionPart]  # the same, a later part that points back kept (see `resolve_pointing`)
    points_back: bool  # `pointing` has a later part, which `resolve_pointing` may rewrite
    subjects: frozenset[str]  # the stems of the peoples and places it names
    unknown_names: list[str]  # its names and numbers that no article holds
    missing_head: str  # the class of thing it asks for, when no article mentions it
    unanswerable: bool  # no article can answer: a name no article holds, or a class of thing none mentions


def read(condensed: Condensed, vocabulary: Vocabulary) -> Reading:
    """The question read: its parts (the question's grammar) first, then its words against the vocabulary."""
    question = condensed.question
    qparts, pointing = parts(question), parts(question, keep_pointing=True)
    heads = question_heads(question)
    unknown, missing = unknown_names(question, vocabulary), missing_head(heads, vocabulary)
    return Reading(
        condensed,
        qparts,
        pointing,
        len(pointing) > 1 and bool(pointing[0].terms),
        subject_stems(question),
        unknown,
        missing,
        bool(unknown or missing),
    )


def unknown_names(question: str, vocabulary: Vocabulary) -> list[str]:
    """Names and numbers of the question that no article contains: then no article can answer it."""
    # "per VOA", "according to Reuters": who reported it, not what is asked; the outlet may go unnamed
    question = ATTRIBUTION.sub(" ", question)
    return [
        token
        for i, token in enumerate(TOKEN.findall(question))
        if (is_name(i, token, QUESTION_WORDS) or (token.isdigit() and len(token) >= 2))
        and vocabulary.frequency(stem(token)) == 0
    ]


def missing_head(heads: list[str], vocabulary: Vocabulary) -> str:
    """The class of thing the question asks for (of its `question_heads`: "the name of the Russian
    *commander*", "how much *money*") when no article ever mentions it: then no article can answer."""
    for head in heads:
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


def resolve_pointing(reading: Reading, best: str) -> list[QuestionPart]:
    """The question's parts (with terms), a later one that points back with a pronoun rewritten as a
    follow-up of the first part and `best`, the sentence that answers that best ("who owned Wagner and what
    happened to *him*": "what happened to Evgueni Prigozhin")."""
    qparts = reading.pointing
    if not reading.points_back:
        return [p for p in qparts if p.terms]
    first = qparts[0]
    history: list[Turn] = [
        {"role": "user", "content": first.text},
        {"role": "assistant", "content": best},
    ]
    resolved = [first]
    for part in qparts[1:]:
        if POINTING_BACK.search(part.text):
            rewritten = condense(part.text, history).question
            if rewritten != part.text:
                part = parts(rewritten)[0]
        resolved.append(part)
    return [p for p in resolved if p.terms]
