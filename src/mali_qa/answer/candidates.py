"""The candidate answers of a question: every sentence of the retrieved passages, with what the answer step
reads of it (its stems, its passage's stems, its cosine with the question). What does not depend on the
question (a passage's sentences and their stems) is computed once per passage and remembered."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mali_qa import cache
from mali_qa.planted import looks_like_instruction
from mali_qa.text import is_caption, is_heading, split_sentences, stems
from mali_qa.types import Passage, passage_id

#: A sentence opening on a pronoun continues the sentence before it ("He said ...").
_PRONOUN_START = re.compile(
    r"^[“\"]?(?:He|She|They|It|His|Her|Their|Its|Your|Our|This|These|That|The group)\b"
)


@dataclass
class Candidate:
    """One sentence of a retrieved passage, with offsets into its article."""

    passage: Passage
    rank: int
    start: int
    end: int
    text: str
    stems: frozenset[str]
    context: frozenset[str]
    similarity: float = 0.0
    score: float = 0.0
    coverage: float = 0.0
    pronoun_start: bool = False  # opens on a pronoun: it continues the sentence before it


def candidates(passages: Sequence[Passage]) -> list[Candidate]:
    """Every sentence of the retrieved passages, best passage first, as a candidate answer (but for planted
    orders to an AI, and headings); a sentence opening on a pronoun also holds the stems of the sentence before it."""
    out = []
    sentences_of = {p.id: passage_sentences(p.text, p.start, p.title) for p in passages}
    last_sentence = {
        pid: next((x.stems for x in reversed(s[1]) if not x.heading), ()) for pid, s in sentences_of.items()
    }
    for rank, passage in enumerate(passages):
        passage_stems, sentences = sentences_of[passage.id]
        similarity = {start: cos for start, _end, cos in passage.sentence_scores}
        previous: tuple[str, ...] = last_sentence.get(previous_passage_id(passage.id), ())
        for sentence in sentences:
            if sentence.heading:  # a heading or pull quote is not a sentence of the article
                continue
            if sentence.instruction:  # planted orders to an AI are never quoted as an answer
                previous = sentence.stems
                continue
            # "He said ..." continues the sentence before: its names count as this sentence's own
            bag = sentence.bag | frozenset(previous) if sentence.pronoun_start else sentence.bag
            out.append(
                Candidate(
                    passage,
                    rank,
                    sentence.start,
                    sentence.end,
                    sentence.text,
                    bag,
                    passage_stems,
                    similarity.get(sentence.start, passage.dense_score),
                    pronoun_start=sentence.pronoun_start,
                )
            )
            previous = sentence.stems
    return out


def previous_passage_id(this_id: str) -> str:
    """The id of the passage just before this one in its article ("a#0007" -> "a#0006")."""
    return neighbour_id(this_id, -1)


def neighbour_id(this_id: str, step: int) -> str:
    """The id of the passage `step` passages after this one in its article ("a#0007", -2 -> "a#0005"), or ""
    before the first or for an id without a number."""
    article, _, number = this_id.rpartition("#")
    if not number.isdigit() or int(number) + step < 0:
        return ""
    return passage_id(article, int(number) + step)


@dataclass(frozen=True)
class PassageSentence:
    """What the answer step reads of one sentence of a passage, the same for every question."""

    start: int
    end: int
    text: str
    stems: tuple[str, ...]
    bag: frozenset[str]
    instruction: bool
    pronoun_start: bool
    #: a heading, pull quote or byline alone on its line, or a photo caption: never quoted
    heading: bool = False


@cache.memo(maxsize=4096)
def passage_sentences(
    text: str, start: int, title: str
) -> tuple[frozenset[str], tuple[PassageSentence, ...]]:
    """A passage's stems (with its title's) and its sentences, remembered: questions keep retrieving the
    same passages."""
    sentences = []
    for begin, end in split_sentences(text, offset=start):
        sentence = text[begin - start : end - start]
        own = tuple(stems(sentence))
        sentences.append(
            PassageSentence(
                begin,
                end,
                sentence,
                own,
                frozenset(own),
                looks_like_instruction(sentence),
                bool(_PRONOUN_START.match(sentence)),
                is_heading(text, begin - start, end - start) or is_caption(sentence),
            )
        )
    return frozenset(stems(text) + stems(title)), tuple(sentences)
