"""The data types that travel through the pipeline: Article, Passage, Citation, Answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from mali_qa.sources import source_label

#: The one answer given when the articles do not hold the answer (prompt, engine, tests and eval share it).
NO_ANSWER = "The articles don't say."
#: The opening of the middle kind of reply: the engine is unsure, and shows the closest passages it found.
CLOSEST_PASSAGES = "The articles may not answer this directly. The closest passages:"
#: The opening of an answer that quotes each figure the articles give for the asked count, with its source.
DIFFERING_FIGURES = "The articles give different figures:"
#: The three kinds of reply: an answer (sure), the closest passages (unsure), "The articles don't say."
ReplyKind = Literal["answer", "passages", "none"]


class Turn(TypedDict):
    """One earlier turn of a conversation."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Article:
    """A cleaned article: its id is the file name without extension."""

    id: str
    title: str
    text: str
    date: str = ""
    outlet: str = ""
    path: str = ""

    @property
    def metadata(self) -> dict[str, str]:
        return {"article_id": self.id, "title": self.title, "date": self.date, "outlet": self.outlet}


def passage_id(article_id: str, number: int) -> str:
    """The id of an article's passage `number` (from 0), as the chunker makes it: "article#0007"."""
    return f"{article_id}#{number:04d}"


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences of one article, with character offsets into the cleaned text."""

    id: str
    article_id: str
    title: str
    text: str
    start: int
    end: int
    date: str = ""
    outlet: str = ""
    score: float = 0.0
    dense_score: float = 0.0
    #: (start, end, cosine to the question) of each sentence, offsets into the article
    sentence_scores: tuple[tuple[int, int, float], ...] = ()


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: the passage, verbatim, and the sentence it quotes."""

    source: str
    title: str
    text: str
    score: float
    quote: str = ""
    start: int = 0
    end: int = 0
    quote_start: int = 0
    quote_end: int = 0
    date: str = ""
    outlet: str = ""
    supported: bool = True
    #: offsets into the article of the exact answer inside the quote (a name, date, number, place), when known
    answer_start: int = 0
    answer_end: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Its fields, and `label`: how every front end names the source (`sources.source_label`)."""
        return {**self.__dict__, "label": source_label(self)}


@dataclass
class Answer:
    """What `ask` returns: text with [n] markers in order of first appearance, and the citations."""

    text: str
    answered: bool
    citations: list[Citation] = field(default_factory=list)
    query: str = ""
    engine: str = "offline"
    retrieved: list[Passage] = field(default_factory=list)
    notice: str = ""
    unsupported: list[str] = field(default_factory=list)
    #: the exact answer (a name, a date, a number, a place) when a quoted sentence holds it; "" otherwise
    short: str = ""

    def closest_quotes(self) -> list[str]:
        """The quotes of a closest-passages reply (`kind == "passages"`), each with its [n] marker, best
        first: the text without its CLOSEST_PASSAGES opening, cut after each marker."""
        body = self.text.removeprefix(CLOSEST_PASSAGES).strip()
        return [quote for quote in re.split(r"(?<=\])\s+", body) if quote]

    @property
    def kind(self) -> ReplyKind:
        """ "answer" when the engine is sure; "passages" when it is not but quotes the closest passages
        (`answered` False, with citations); "none" for NO_ANSWER."""
        if self.answered:
            return "answer"
        return "passages" if self.citations else "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "answered": self.answered,
            "kind": self.kind,
            "query": self.query,
            "engine": self.engine,
            "notice": self.notice,
            "short": self.short,
            "unsupported": list(self.unsupported),
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [p.__dict__ for p in self.retrieved],
        }
