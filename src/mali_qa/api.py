"""The public API: `ask` and `ask_stream`, which validate, condense, retrieve and answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from .condense import Condensed, condense
from .config import Settings
from .errors import InvalidQuestionError
from .extractive import ExtractiveEngine, Vocabulary
from .index import load_index
from .retrieve import HybridRetriever
from .text import text_pieces
from .types import Answer, Passage, Turn

_settings: Settings | None = None
_lock = threading.Lock()


def default_settings() -> Settings:
    """The settings of `.env` and the environment, read once per process."""
    global _settings
    with _lock:
        if _settings is None:
            _settings = Settings.from_env()
        return _settings


def validate_question(question: Any, settings: Settings) -> str:
    if not isinstance(question, str):
        raise InvalidQuestionError(f"the question must be a string, not {type(question).__name__}: pass text")
    cleaned = " ".join(question.replace("\x00", " ").split())
    if not cleaned:
        raise InvalidQuestionError("the question is empty: type a question about the articles")
    if len(cleaned) > settings.max_question_chars:
        raise InvalidQuestionError(
            f"the question is {len(cleaned)} characters long, over the limit of {settings.max_question_chars}: "
            "shorten it (or raise MALI_QA_MAX_QUESTION_CHARS)"
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise InvalidQuestionError(
            "the question has no letters or digits: type a question about the articles"
        )
    return cleaned


def validate_history(history: Any) -> list[Turn]:
    if history is None:
        return []
    if not isinstance(history, Sequence) or isinstance(history, str):
        raise InvalidQuestionError(
            "history must be a list of {'role': 'user'|'assistant', 'content': str} turns"
        )
    turns: list[Turn] = []
    for turn in history:
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ("user", "assistant")
            or not isinstance(turn.get("content"), str)
        ):
            raise InvalidQuestionError(
                "each history turn must be {'role': 'user' or 'assistant', 'content': str}: fix the history list"
            )
        turns.append({"role": turn["role"], "content": turn["content"][:4000]})
    return turns[-8:]


class Pipeline:
    """Condense, retrieve and answer, sharing one loaded index; the answer step is the only part that varies."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = load_index(settings)
        self.offline = ExtractiveEngine(Vocabulary(self.state.df, self.state.n_passages))
        self._retrievers: dict[int, HybridRetriever] = {}
        self._lock = threading.Lock()

    def retrieve(self, query: str, top_k: int) -> list[Passage]:
        with self._lock:
            if top_k not in self._retrievers:
                self._retrievers[top_k] = HybridRetriever(self.state, top_k)
            retriever = self._retrievers[top_k]
            return retriever.search(query)


_pipelines: dict[Settings, Pipeline] = {}


def pipeline_for(settings: Settings) -> Pipeline:
    with _lock:
        pipe = _pipelines.get(settings)
        if pipe is None or pipe.state.is_stale():
            pipe = Pipeline(settings)
            _pipelines[settings] = pipe
        return pipe


def reset() -> None:
    """Forget loaded indexes and settings (after a re-ingest in another process, or in tests)."""
    global _settings
    from .index import forget_loaded

    with _lock:
        _pipelines.clear()
        _settings = None
    forget_loaded()


def offline_stream(pipe: Pipeline, text: str, turns: list[Turn], top_k: int) -> Iterator[str | Answer]:
    """The offline answer step: heuristic condensing, retrieval, extractive answer, streamed in pieces."""
    condensed: Condensed = condense(text, turns)
    passages = pipe.retrieve(condensed.search_text, top_k)
    answer = pipe.offline.answer(condensed, passages)
    yield from text_pieces(answer.text)
    yield answer


def ask(
    question: str,
    *,
    history: Sequence[Turn] | None = None,
    settings: Settings | None = None,
    top_k: int | None = None,
) -> Answer:
    """Answer `question` from the articles, with [n] citations; `answered` is False when they don't say."""
    answer: Answer | None = None
    for item in ask_stream(question, history=history, settings=settings, top_k=top_k):
        if isinstance(item, Answer):
            answer = item
    assert answer is not None
    return answer


def ask_stream(
    question: str,
    *,
    history: Sequence[Turn] | None = None,
    settings: Settings | None = None,
    top_k: int | None = None,
) -> Iterator[str | Answer]:
    """Yield the answer's text in pieces as it is produced, then the final `Answer`."""
    settings = settings or default_settings()
    text = validate_question(question, settings)
    turns = validate_history(history)
    if top_k is not None:
        settings = settings.with_(top_k=top_k)
    pipe = pipeline_for(settings)
    # The generative engine (OpenAI or a compatible server) plugs in here, sharing `pipe`.
    if settings.use_generative:
        from .generative import generative_stream

        yield from generative_stream(pipe, text, turns, settings.top_k)
        return
    yield from offline_stream(pipe, text, turns, settings.top_k)
