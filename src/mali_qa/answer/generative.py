"""The generative answer step: OpenAI or any OpenAI-compatible server answers from the numbered passages,
citing them by [n], within MALI_QA_TIMEOUT; its reply is scrubbed of the key as it streams, then checked and
renumbered. Any model failure (a cut stream included) is raised as `ModelFailure`: the service falls back."""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any

from mali_qa.answer.citations import Embedder, MarkerStream, process_reply
from mali_qa.answer.compose import abstain
from mali_qa.answer.condense import Condensed, condense, reads_alone
from mali_qa.answer.engine import ModelFailure, Question, Retrieve
from mali_qa.answer.llm import (
    REPLY_FACTOR,
    CallFailed,
    Deadline,
    IncompleteReply,
    ModelTimeout,
    get_llm,
    model_reply,
)
from mali_qa.answer.prompts import answer_messages, condense_messages
from mali_qa.config import Settings, server_label
from mali_qa.types import NO_ANSWER, Answer, Turn

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

log = logging.getLogger(__name__)

FALLBACK = "This answer comes from the offline engine."
#: Longest reply read from the model: the prompt asks for under 100 words and the token cap is 300, so a
#: longer reply is off the rules (and checking it would take long); the offline engine answers instead.
MAX_REPLY_CHARS = 8000


class GenerativeEngine:
    """The generative engine as an `Engine`: the model condenses (with history), the service retrieves, the
    model answers from the numbered passages."""

    name = "generative"

    def __init__(self, settings: Settings, embed: Embedder | None = None, *, llm: LLM | None = None) -> None:
        self.settings, self.embed, self.llm = settings, embed, llm

    def stream(self, question: Question, retrieve: Retrieve) -> Iterator[str | Answer]:
        return generative_stream(
            self.settings, question.text, question.turns, retrieve, self.embed, llm=self.llm
        )


def generative_stream(
    settings: Settings,
    text: str,
    turns: list[Turn],
    retrieve: Retrieve,
    embed: Embedder | None = None,
    *,
    llm: LLM | None = None,
) -> Iterator[str | Answer]:
    """Condense (one model call, only for a question that cannot be read alone), retrieve, and stream the
    model's answer in pieces, then yield the final Answer; raises ModelFailure when the model fails or its
    reply cannot be used."""
    deadline = Deadline(settings.timeout)  # the user's whole wait: condensing, retries and the stream
    model = llm or _setup(settings)
    follow_up = bool(turns) and not reads_alone(text)  # a question that reads alone is sent as typed
    query = condense_with_model(model, text, turns, settings, deadline) if follow_up else text
    condensed = _condensed(query, text, turns if follow_up else [])
    passages = retrieve(query)
    if not passages:  # no evidence, no model call
        yield abstain(condensed, passages)
        return

    stream = MarkerStream(len(passages))
    scrubber = Scrubber(_key(settings))  # a model that echoes the key never gets it shown or logged
    reply: list[str] = []
    size, streamed = 0, False
    try:
        with closing(
            _call(model, answer_messages(query, passages), settings, deadline, stream=True)
        ) as chunks:
            for chunk in chunks:
                safe = scrubber.feed(chunk)
                reply.append(safe)
                size += len(chunk)
                if size > MAX_REPLY_CHARS:
                    raise ModelFailure(
                        f"The model's reply ran over {MAX_REPLY_CHARS:,} characters (it was asked for under "
                        f"100 words). {FALLBACK}"
                    )
                piece = stream.feed(safe)
                if piece:
                    streamed = True
                    yield piece
        rest = scrubber.flush()
        reply.append(rest)
        tail = stream.feed(rest) + stream.flush()
        if tail:
            streamed = True
            yield tail
    except ModelFailure as failure:
        raise ModelFailure(
            failure.notice, condensed=condensed, passages=passages, streamed=streamed
        ) from None

    full = "".join(reply)
    log.debug("model reply (%d characters): %.300r", len(full), full)
    processed = process_reply(full, passages, embed=embed)
    if processed.abstained:
        yield Answer(
            text=NO_ANSWER, answered=False, query=query, engine=settings.chat_model, retrieved=passages
        )
        return
    if not processed.citations:
        why = (
            "The model sent an empty reply"
            if not full.strip()
            else "The model's answer cited none of the passages"
        )
        raise ModelFailure(f"{why}. {FALLBACK}", condensed=condensed, passages=passages, streamed=streamed)
    if processed.dropped:
        log.info("dropped citation numbers that match no passage: %s", processed.dropped)
    yield Answer(
        text=processed.text,
        answered=True,
        citations=processed.citations,
        query=query,
        engine=settings.chat_model,
        retrieved=passages,
        unsupported=processed.unsupported,
    )


def condense_with_model(
    llm: LLM, question: str, turns: Sequence[Turn], settings: Settings, deadline: Deadline | None = None
) -> str:
    """The standalone question, from one model call; the offline rewrite when the reply is unusable."""
    deadline = deadline or Deadline(settings.timeout)
    reply = _scrub(
        "".join(_call(llm, condense_messages(question, turns), settings, deadline, stream=False)), settings
    )
    line = next((ln for ln in reply.splitlines() if ln.strip()), "")
    line = re.sub(r"^\s*(standalone question|question)\s*:\s*", "", line, flags=re.I).strip().strip("\"'“”")
    if not re.search(r"\w", line) or len(line) > 3 * len(question) + 300:
        return condense(question, turns).search_text
    return line


def _setup(settings: Settings) -> LLM:
    try:
        return get_llm(settings, client_retries=0)  # retried by model_reply, within the deadline
    except Exception as exc:  # e.g. a model llama-index only serves through the Responses API
        log.warning("the chat model could not be set up (%s); answering with the offline engine", _kind(exc))
        fields = {str(e["loc"][0]) for e in getattr(exc, "errors", lambda: [])() if e.get("loc")}
        blamed = [env for field, env in _SETUP_FIELDS.items() if field in fields] or ["MALI_QA_CHAT_MODEL"]
        msg = (
            f"The chat model {settings.chat_model!r} could not be set up ({type(exc).__name__}): "
            f"check {' and '.join(blamed)}."
        )
        raise ModelFailure(_scrub(f"{msg} {FALLBACK}", settings)) from None


#: The fields of llama-index's model client that come from a setting, and that setting.
_SETUP_FIELDS = {
    "temperature": "MALI_QA_TEMPERATURE",
    "timeout": "MALI_QA_TIMEOUT",
    "max_retries": "MALI_QA_MAX_RETRIES",
    "api_base": "OPENAI_BASE_URL",
    "model": "MALI_QA_CHAT_MODEL",
}


def _call(
    llm: LLM, messages: list[Any], settings: Settings, deadline: Deadline, *, stream: bool
) -> Generator[str, None, None]:
    """The model's reply text (in pieces when streaming); every failure becomes a ModelFailure."""
    try:
        yield from model_reply(llm, messages, settings, deadline, stream=stream)
    except Exception as exc:
        notice = failure_notice(exc, settings)
        log.warning("model call failed (%s); answering with the offline engine", _kind(exc))
        raise ModelFailure(notice) from None


def failure_notice(exc: BaseException, settings: Settings) -> str:
    """A one-line message naming the fix; built from the error's type and status only, never its text."""
    import httpx
    import openai

    count = exc.retries if isinstance(exc, CallFailed) else settings.max_retries
    exc = exc.cause if isinstance(exc, CallFailed) else exc
    model, where = settings.chat_model, server_label(settings)
    retries = f"after {count} retries" if count else "with no retry"
    if isinstance(exc, ModelTimeout) and not exc.first:
        msg = (
            f"The model's answer did not finish within {REPLY_FACTOR * settings.timeout:g} s "
            "(twice MALI_QA_TIMEOUT): raise MALI_QA_TIMEOUT or try again."
        )
    elif isinstance(exc, (ModelTimeout, openai.APITimeoutError, httpx.TimeoutException)):
        msg = (
            f"The model server at {where} did not answer within {settings.timeout:g} s (MALI_QA_TIMEOUT, "
            "retries included): raise MALI_QA_TIMEOUT or try again."
        )
    elif isinstance(exc, IncompleteReply):
        msg = f"The model's answer was cut off before it finished ({exc.reason or 'the stream ended'})."
    elif isinstance(exc, openai.AuthenticationError):
        msg = f"The model server at {where} rejected the API key (HTTP 401): check OPENAI_API_KEY in .env."
    elif isinstance(exc, openai.PermissionDeniedError):
        msg = f"The API key may not use {model!r} (HTTP 403): check OPENAI_API_KEY and MALI_QA_CHAT_MODEL."
    elif isinstance(exc, openai.NotFoundError):
        msg = f"{where} has no model {model!r} (HTTP 404): check MALI_QA_CHAT_MODEL and OPENAI_BASE_URL."
    elif isinstance(exc, openai.RateLimitError):
        msg = f"The model server at {where} is rate-limiting requests (HTTP 429), {retries}: try again later."
    elif isinstance(exc, (openai.APIConnectionError, httpx.TransportError)):
        msg = f"Could not reach the model server at {where}: check OPENAI_BASE_URL and that it is running."
    elif isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        msg = f"The model server at {where} failed (HTTP {exc.status_code}), {retries}: try again later."
    elif isinstance(exc, openai.APIStatusError):
        msg = f"The model server at {where} refused the request (HTTP {exc.status_code})."
    else:
        msg = f"The model's reply could not be read ({type(exc).__name__})."
    return _scrub(f"{msg} {FALLBACK}", settings)


def _kind(exc: BaseException) -> str:
    exc = exc.cause if isinstance(exc, CallFailed) else exc
    status = getattr(exc, "status_code", None)
    return type(exc).__name__ + (f", HTTP {status}" if status else "")


def _key(settings: Settings) -> str:
    return settings.openai_api_key.get_secret_value()


def _scrub(text: str, settings: Settings) -> str:
    key = _key(settings)
    return text.replace(key, MASK) if key else text


MASK = "********"


class Scrubber:
    """Removes the key from a text that arrives in pieces, even when the key is split across them: it
    holds back only a tail that may be the start of the key. The pieces it returns join to the whole
    text with every occurrence of the key masked."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._pending = ""

    def feed(self, piece: str) -> str:
        if not self.key:
            return piece
        text = (self._pending + piece).replace(self.key, MASK)
        cut = len(text)  # where the longest tail that may be the start of the key begins
        at = text.find(self.key[0], max(0, len(text) - len(self.key) + 1))
        while at != -1:
            if self.key.startswith(text[at:]):
                cut = at
                break
            at = text.find(self.key[0], at + 1)
        self._pending = text[cut:]
        return text[:cut]

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return rest


def _condensed(query: str, question: str, turns: Sequence[Turn]) -> Condensed:
    """What the offline engine needs if it must answer after all: the model's standalone question, with
    the heuristic context terms of the conversation."""
    if not turns:
        return Condensed(question=question)
    heuristic = condense(question, turns)
    return Condensed(question=query, rewritten=True, context_terms=heuristic.context_terms)
