"""The chat model client: llama-index's OpenAI (OpenAI's API) or OpenAILike (any OpenAI-compatible server),
built on first use, never at import; and `model_reply`, which holds a call to one deadline (tenacity's
retries with backoff included), a first-words deadline when streaming, says when a stream was cut, stops
reading when its caller is cancelled (`cancel_on`), and cleans the model's text as it enters."""

from __future__ import annotations

import contextvars
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mali_qa import cache
from mali_qa.config import OPENAI_API_BASE, Settings
from mali_qa.sanitize import drop_invalid

if TYPE_CHECKING:
    import httpx
    from llama_index.core.llms import LLM

#: Longest reply asked of a non-reasoning model (the prompt asks for under 100 words).
MAX_REPLY_TOKENS = 300
#: What llama-index's own `api_key` field holds: the real key lives only inside the openai client.
KEY_PLACEHOLDER = "held-by-the-openai-client"

#: The finish reasons of a reply the model ended itself; anything else (none, "length") is a cut reply.
FINISHED = frozenset({"stop", "eos", "end_turn"})
#: The whole reply may take this many times MALI_QA_TIMEOUT; its first words must come within one.
REPLY_FACTOR = 2.0

_lock = threading.Lock()
_llms: dict[tuple[Settings, int | None], LLM] = cache.register("chat model clients")
_local = threading.local()  # the deadline and the HTTP responses of the model call on this thread, if any
#: Set by a face (the HTTP service) whose client went away: the model calls of that request stop.
cancel_on: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "mali_qa_cancel_model_calls", default=None
)
#: How often a wait for the model looks at `cancel_on`, in seconds.
CANCEL_POLL_S = 0.2


class Cancelled(BaseException):  # noqa: N818 - like asyncio.CancelledError, not an error of the call
    """The caller went away (`cancel_on` was set): nobody reads the answer, so nothing falls back either."""


class ModelTimeout(Exception):
    """The deadline passed: no first words (`first`), or the reply did not finish."""

    def __init__(self, *, first: bool) -> None:
        super().__init__("no first words in time" if first else "the reply did not finish in time")
        self.first = first


class IncompleteReply(Exception):
    """The stream ended without the model saying it had finished (cut off, or at the token cap)."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(f"finish reason {reason!r}")
        self.reason = reason


class CallFailed(Exception):
    """The model call failed for good: `cause` is the last error, after `retries` retries."""

    def __init__(self, cause: BaseException, retries: int) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause
        self.retries = retries


@dataclass
class Deadline:
    """When the user's wait for a model answer ends: its first words by `first`, all of it by `end`."""

    timeout: float
    start: float = field(default_factory=time.monotonic)

    @property
    def first(self) -> float:
        return self.start + self.timeout

    @property
    def end(self) -> float:
        return self.start + REPLY_FACTOR * self.timeout


def use_bundled_tiktoken() -> None:
    """Point tiktoken at llama-index-core's bundled encodings, so that nothing is downloaded (unless the
    environment already chose a cache folder)."""
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    spec = find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return
    folder = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    if folder.is_dir():
        os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)


def make_http_client(settings: Settings) -> httpx.Client | None:
    """The httpx client under the openai client; None makes openai's default one (tests swap this)."""
    return None


def _hold_to_deadline(request: httpx.Request) -> None:
    """An httpx request hook: no timeout of a request runs past the deadline of the call on this thread."""
    import httpx

    until = getattr(_local, "until", None)
    if until is None:
        return
    left = until - time.monotonic()
    if left <= 0:
        raise httpx.ConnectTimeout("the deadline of this model call has passed", request=request)
    given = request.extensions.get("timeout") or {}
    request.extensions["timeout"] = {
        key: left if given.get(key) is None else min(float(given[key]), left)
        for key in ("connect", "read", "write", "pool")
    }


def _keep_response(response: httpx.Response) -> None:
    """An httpx response hook: the model call on this thread keeps its responses, to close them itself
    when it stops reading (closing llama-index's stream leaves the connection open until a GC cycle)."""
    kept = getattr(_local, "responses", None)
    if kept is not None:
        kept.append(response)


def get_llm(settings: Settings, *, client_retries: int | None = None) -> LLM:
    """One chat model client per settings, shared by every question of the process. The openai client
    retries `client_retries` times (default MALI_QA_MAX_RETRIES); answers pass 0 and retry through
    `model_reply` (tenacity), within the deadline."""
    with _lock:
        llm = _llms.get((settings, client_retries))
        if llm is None:
            llm = build_llm(settings, http_client=make_http_client(settings), client_retries=client_retries)
            _llms[(settings, client_retries)] = llm
        return llm


def forget_clients() -> None:
    """Drop the cached clients (tests, or after the settings changed)."""
    with _lock:
        _llms.clear()


def build_llm(
    settings: Settings, *, http_client: httpx.Client | None = None, client_retries: int | None = None
) -> LLM:
    """OpenAI for a model llama-index knows and no base URL; OpenAILike for a base URL or an unknown model.
    Retries (timeouts, connection errors, 429, 5xx; with backoff, honouring Retry-After) and the timeout are
    the openai client's own; llama-index's second retry layer is switched off so that they do not multiply."""
    use_bundled_tiktoken()
    from llama_index.llms.openai import OpenAI
    from llama_index.llms.openai.utils import ALL_AVAILABLE_MODELS, O1_MODELS
    from openai import DefaultHttpxClient
    from openai import OpenAI as SyncOpenAI

    base = settings.openai_base_url.rstrip("/") or OPENAI_API_BASE
    http_client = http_client or DefaultHttpxClient()
    if _hold_to_deadline not in http_client.event_hooks["request"]:
        http_client.event_hooks["request"].append(_hold_to_deadline)
    if _keep_response not in http_client.event_hooks["response"]:
        http_client.event_hooks["response"].append(_keep_response)
    client = SyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value() or "no-key",
        base_url=base,
        timeout=settings.timeout,
        max_retries=settings.max_retries if client_retries is None else client_retries,
        http_client=http_client,
    )
    model = settings.chat_model
    common: dict[str, Any] = {
        "model": model,
        "api_key": KEY_PLACEHOLDER,
        "api_base": base,
        "timeout": settings.timeout,
        "max_retries": 0,
        "openai_client": client,
        "reuse_client": True,
    }
    if model in O1_MODELS:
        # Reasoning models: the temperature is fixed and reasoning tokens count against any cap.
        common.update(reasoning_effort="low")
    else:
        common.update(temperature=settings.temperature, max_tokens=MAX_REPLY_TOKENS)
    if not settings.openai_base_url and model in ALL_AVAILABLE_MODELS:
        return OpenAI(**common)
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(is_chat_model=True, context_window=8192, **common)


def model_reply(
    llm: LLM, messages: list[Any], settings: Settings, deadline: Deadline, *, stream: bool
) -> Iterator[str]:
    """The model's reply text (in pieces when streaming), cleaned of invalid Unicode and control characters.
    The call runs on a worker thread, retried with backoff while the deadline allows; neither this generator
    nor the worker waits or reads past the deadline. Raises ModelTimeout, IncompleteReply (a stream that
    ended without a finish), CallFailed with the last error, or Cancelled when `cancel_on` is set."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue()
    cancel, caller = threading.Event(), cancel_on.get()
    worker = threading.Thread(
        target=_attempts,
        args=(llm, messages, settings, deadline, stream, box, (cancel, caller)),
        name="mali-qa-model-call",
        daemon=True,  # a server that never answers holds the thread until its own timeout, not the user
    )
    worker.start()
    started, finish = False, None
    try:
        while True:
            until = deadline.end if started else deadline.first
            if caller is not None and caller.is_set():
                raise Cancelled
            left = until - time.monotonic()
            try:
                kind, value = box.get(timeout=max(0.0, min(left, CANCEL_POLL_S) if caller else left))
            except queue.Empty:
                if time.monotonic() < until:
                    continue
                raise ModelTimeout(first=not started) from None
            if kind == "text" and value:
                text = drop_invalid(value)  # model text is input: lone surrogates, ESC, NUL go here
                if text:
                    started = True
                    yield text
            elif kind == "finish":
                finish = value
            elif kind == "error":
                raise value
            elif kind == "done":
                if stream and finish not in FINISHED:
                    raise IncompleteReply(finish)
                return
    finally:
        cancel.set()


class _Stopped(Exception):
    """The worker's wait between attempts was cut short: the reader went away."""


def _attempts(
    llm: LLM,
    messages: list[Any],
    settings: Settings,
    deadline: Deadline,
    stream: bool,
    box: queue.Queue[tuple[str, Any]],
    cancels: tuple[threading.Event, threading.Event | None],
) -> None:
    """One model call on the worker thread, retried by tenacity: only errors that retrying may cure, never
    once text was sent, at most MALI_QA_MAX_RETRIES times, and never a wait that ends past the deadline."""
    from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
    from tenacity.stop import stop_base

    sent = False
    cancel, caller = cancels  # the reader's (it stopped reading) and the caller's (its client went away)

    def stopped() -> bool:
        return cancel.is_set() or (caller is not None and caller.is_set())

    def attempt() -> None:
        nonlocal sent
        if stopped():
            raise _Stopped
        if not stream:
            box.put(("text", llm.chat(messages).message.content or ""))
            return
        replies = llm.stream_chat(messages)
        try:
            for chunk in replies:
                if stopped() or time.monotonic() >= deadline.end:
                    raise _Stopped  # nobody reads on, or the whole wait is over: stop reading the model
                if chunk.delta:
                    sent = True
                    box.put(("text", chunk.delta))
                reason = _finish_reason(chunk.raw)
                if reason:
                    box.put(("finish", reason))
        finally:
            getattr(replies, "close", lambda: None)()
            while _local.responses:  # the model server sees its connection closed now
                _local.responses.pop().close()

    def sleep(seconds: float) -> None:
        end = time.monotonic() + seconds
        while not stopped():
            left = end - time.monotonic()
            if left <= 0:
                return
            cancel.wait(min(left, CANCEL_POLL_S))
        raise _Stopped

    class PastDeadline(stop_base):
        """Stop when the wait before the next attempt would end past the first-words deadline."""

        def __call__(self, state: RetryCallState) -> bool:
            return time.monotonic() + (state.upcoming_sleep or 0.0) >= deadline.first

    retrying = Retrying(
        retry=retry_if_exception(lambda exc: not sent and retryable(exc)),
        wait=_wait,
        stop=stop_after_attempt(max(0, settings.max_retries) + 1) | PastDeadline(),
        sleep=sleep,
        reraise=True,
    )
    _local.until, _local.responses = deadline.first, []
    try:
        retrying(attempt)
        box.put(("done", None))
    except _Stopped:
        return
    except Exception as exc:
        box.put(("error", CallFailed(exc, retrying.statistics.get("attempt_number", 1) - 1)))
    finally:
        _local.until, _local.responses = None, None


def _wait(state: Any) -> float:
    """tenacity's wait before the next attempt: the server's Retry-After when it gives one, else exponential
    backoff with jitter (0.4 s, 0.8 s, 1.6 s ... at most 8 s)."""
    import openai
    from tenacity import wait_exponential_jitter

    exc = state.outcome.exception() if state.outcome else None
    asked = _retry_after(exc.response.headers) if isinstance(exc, openai.APIStatusError) else None
    return (
        asked
        if asked is not None
        else float(wait_exponential_jitter(multiplier=0.4, max=8.0, jitter=0.2)(state))
    )


def _finish_reason(raw: Any) -> str | None:
    choices = getattr(raw, "choices", None) or []
    return getattr(choices[0], "finish_reason", None) if choices else None


def retryable(exc: BaseException) -> bool:
    """Whether retrying may cure `exc`: a timeout, a lost connection, 408, 409, 429 or 5xx; never a wrong key,
    a missing model or a bad request."""
    import httpx
    import openai

    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return isinstance(exc, (openai.APIConnectionError, httpx.TransportError))


def _retry_after(headers: Any) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) * scale
        except ValueError:
            continue
        if 0 <= seconds <= 60:
            return seconds
    return None
