"""The one interface of the answer engines: a question (as typed, with the conversation's turns, and its
offline standalone form), a way to retrieve passages, in; pieces of text and then the final `Answer` out.
The learned and the rules engines answer from passages (`OfflineEngine`), the generative one streams a
model's reply; `offline_stream` makes an offline engine an `Engine`. A model that fails raises
`ModelFailure`, and the service answers offline instead (the one fallback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from mali_qa.answer.condense import Condensed
from mali_qa.text import text_pieces
from mali_qa.types import Answer, Passage, Turn

#: The passages for a search text (the service's retrieval, at the question's top_k).
Retrieve = Callable[[str], list[Passage]]


@dataclass(frozen=True)
class Question:
    """One question to answer: its text as typed, the earlier turns, and its standalone form as the offline
    engines read it (typos repaired, a follow-up rewritten: `standalone()`, made on demand)."""

    text: str
    turns: list[Turn]
    standalone: Callable[[], Condensed]


class Engine(Protocol):
    """An answer engine: yields the answer's text in pieces as it is produced, then the final `Answer`."""

    @property
    def name(self) -> str: ...

    def stream(self, question: Question, retrieve: Retrieve) -> Iterator[str | Answer]: ...


class OfflineEngine(Protocol):
    """An engine that answers from retrieved passages, without a model (learned, rules)."""

    @property
    def name(self) -> str: ...

    def answer(self, condensed: Condensed, passages: Sequence[Passage]) -> Answer: ...


class ModelFailure(Exception):
    """A model call failed. `notice` is the message for the user, free of any secret; `condensed` and
    `passages` are what the offline answer should use when they were already made (else None), and
    `streamed` says whether model text was already shown."""

    def __init__(
        self,
        notice: str,
        *,
        condensed: Condensed | None = None,
        passages: list[Passage] | None = None,
        streamed: bool = False,
    ) -> None:
        super().__init__(notice)
        self.notice = notice
        self.condensed = condensed
        self.passages = passages
        self.streamed = streamed


@dataclass(frozen=True)
class Offline:
    """An offline engine as an `Engine`: standalone question, retrieval, answer, its text in pieces."""

    engine: OfflineEngine

    @property
    def name(self) -> str:
        return self.engine.name

    def stream(self, question: Question, retrieve: Retrieve) -> Iterator[str | Answer]:
        condensed = question.standalone()
        yield from offline_stream(self.engine, condensed, retrieve(condensed.search_text))

    def fallback(
        self, question: Question, retrieve: Retrieve, failure: ModelFailure
    ) -> Iterator[str | Answer]:
        """The offline answer after a model failed, with its notice; the pieces are left out when model text
        was already streamed (the final Answer replaces it)."""
        condensed = failure.condensed or question.standalone()
        passages = failure.passages if failure.passages is not None else retrieve(condensed.search_text)
        yield from offline_stream(
            self.engine, condensed, passages, notice=failure.notice, quiet=failure.streamed
        )


def offline_stream(
    engine: OfflineEngine,
    condensed: Condensed,
    passages: Sequence[Passage],
    *,
    notice: str = "",
    quiet: bool = False,
) -> Iterator[str | Answer]:
    """An offline engine's answer, streamed in pieces (unless `quiet`), with a model failure's notice."""
    answer = engine.answer(condensed, passages)
    answer.notice = notice
    if not quiet:
        yield from text_pieces(answer.text)
    yield answer
