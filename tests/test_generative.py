"""The generative engine through the real openai client and llama-index, over a scripted httpx transport:
citations, renumbering, abstention, streaming, condensing, retries, and every failure path."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from mali_qa import service as api
from mali_qa.answer import llm
from mali_qa.config import Settings
from mali_qa.types import NO_ANSWER, Answer, Turn

KEY = "sk-test-SECRET-0123456789abcdef"
BASE = "http://model.test/v1"
QUESTION = "When did Wagner mercenaries arrive in Mali?"

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """The model server's side: each request gets the next step (a response, an exception to raise, or a
    function of the request); every request is kept for assertions."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.steps:
            return httpx.Response(500, json={"error": {"message": "script exhausted"}})
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def body(request: httpx.Request) -> dict[str, Any]:
    return dict(json.loads(request.content))


def completion(text: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "c1",
            "object": "chat.completion",
            "created": 0,
            "model": "test-model",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
        },
    )


def sse(
    pieces: list[str], *, tail: bytes = b"data: [DONE]\n\n", finish: str | None = "stop"
) -> httpx.Response:
    """A streamed reply as OpenAI sends it: the pieces, a last chunk with the finish reason (None: the
    stream is cut before it), then `tail`."""

    def chunk(piece: str | None, reason: str | None = None) -> bytes:
        delta = {} if piece is None else {"content": piece}
        data = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "test-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
        }
        return f"data: {json.dumps(data)}\n\n".encode()

    def stream() -> Iterator[bytes]:
        yield from (chunk(p) for p in pieces)
        if finish:
            yield chunk(None, finish)
        yield tail

    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream())


def reply(
    text_or_fn: str | Callable[[list[str]], str], size: int = 7
) -> Callable[[httpx.Request], httpx.Response]:
    """A model that answers `text` (or text made from the numbered passages it was shown), streamed in
    pieces of `size` characters when the request asks for a stream."""

    def respond(request: httpx.Request) -> httpx.Response:
        payload = body(request)
        text = text_or_fn if isinstance(text_or_fn, str) else text_or_fn(shown_passages(payload))
        if payload.get("stream"):
            return sse([text[i : i + size] for i in range(0, len(text), size)])
        return completion(text)

    return respond


def shown_passages(payload: dict[str, Any]) -> list[str]:
    """The passage texts of the prompt, in their numbered order."""
    user = payload["messages"][-1]["content"]
    blocks = re.findall(r"^\[(\d+)\] [^\n]*\n(.*?)(?=\n\n\[\d+\] |\n\nQuestion: )", user, flags=re.S | re.M)
    return [text for _, text in blocks]


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip())[0].rstrip(".!?")


def quoting(*numbers: int) -> Callable[[list[str]], str]:
    """A faithful model: the first sentence of each passage named, with its number."""
    return lambda passages: " ".join(f"{first_sentence(passages[n - 1])} [{n}]." for n in numbers)


def error(status: int, message: str = "error", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "type": "x"}}, headers=headers or {})


def fast_retry(status: int) -> httpx.Response:
    return error(status, headers={"retry-after-ms": "10"})


@pytest.fixture
def gen_settings(built_settings: Settings) -> Settings:
    return built_settings.with_(
        openai_base_url=BASE,
        chat_model="test-model",
        openai_api_key=SecretStr(KEY),
        max_retries=2,
        timeout=5.0,
        offline_engine="rules",  # the fallback's mechanics are tested here, not which sentence it quotes
    )


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Script]]:
    """Install a Script as the transport of every model client built during the test."""
    llm.forget_clients()

    def install(*steps: Step) -> Script:
        script = Script(*steps)
        monkeypatch.setattr(
            llm, "make_http_client", lambda s: httpx.Client(transport=httpx.MockTransport(script))
        )
        llm.forget_clients()
        return script

    yield install
    llm.forget_clients()


def run(settings: Settings, question: str = QUESTION, **kw: Any) -> tuple[list[str], Answer]:
    items = list(api.ask_stream(question, settings=settings, **kw))
    pieces = [i for i in items if isinstance(i, str)]
    finals = [i for i in items if isinstance(i, Answer)]
    assert len(finals) == 1 and items[-1] is finals[0]
    return pieces, finals[0]


def assert_offline_fallback(answer: Answer, *phrases: str) -> None:
    assert answer.engine == "offline"
    assert answer.notice.endswith("This answer comes from the offline engine.")
    for phrase in phrases:
        assert phrase in answer.notice
    assert_no_key(answer)


def assert_no_key(*things: object) -> None:
    for thing in things:
        assert KEY not in repr(thing) and KEY not in str(thing)


# -- answers --------------------------------------------------------------------------------------------


def test_answer_cites_the_passages_it_was_shown(serve: Callable[..., Script], gen_settings: Settings) -> None:
    script = serve(reply(quoting(1)))
    _, answer = run(gen_settings)
    assert answer.answered and answer.engine == "test-model" and answer.notice == ""
    assert answer.text.endswith("[1].")
    assert answer.citations[0].text == answer.retrieved[0].text
    assert answer.citations[0].supported and answer.unsupported == []
    assert len(script.requests) == 1


def test_prompt_numbers_passages_with_headlines_and_states_the_rules(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    script = serve(reply(quoting(1)))
    _, answer = run(gen_settings)
    payload = script.bodies()[0]
    system, user = payload["messages"][0]["content"], payload["messages"][-1]["content"]
    assert NO_ANSWER in system and "100 words" in system and "[1]" in system
    assert f"[1] {answer.retrieved[0].title}" in user and user.rstrip().endswith(f"Question: {QUESTION}")
    assert shown_passages(payload) == [p.text.strip() for p in answer.retrieved]
    assert payload["model"] == "test-model" and payload["stream"] is True and payload["temperature"] == 0.0


def test_numbers_matching_no_passage_are_dropped(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    serve(reply(lambda ps: f"{first_sentence(ps[1])} [2][99]. {first_sentence(ps[0])} [42]."))
    _, answer = run(gen_settings)
    assert "[99]" not in answer.text and "[42]" not in answer.text
    assert re.findall(r"\[\d+\]", answer.text) == ["[1]"]
    assert [c.text for c in answer.citations] == [answer.retrieved[1].text]


def test_markers_are_renumbered_in_order_of_first_appearance(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    serve(reply(quoting(3, 1, 3)))
    pieces, answer = run(gen_settings)
    assert re.findall(r"\[\d+\]", answer.text) == ["[1]", "[2]", "[1]"]
    assert [c.text for c in answer.citations] == [answer.retrieved[2].text, answer.retrieved[0].text]
    assert "".join(pieces) == answer.text  # the stream was renumbered on the fly too


def test_unsupported_claim_is_listed_and_its_citation_flagged(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    serve(reply(lambda ps: f"{first_sentence(ps[0])} [1]. Chinese engineers built a dam in Timbuktu [2]."))
    _, answer = run(gen_settings)
    assert answer.answered
    assert answer.unsupported == ["Chinese engineers built a dam in Timbuktu."]
    assert [c.supported for c in answer.citations] == [True, False]


def test_no_answer_from_the_model_is_an_abstention(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    serve(reply(NO_ANSWER))
    _, answer = run(gen_settings, "What did the articles say about penguins in Antarctica?")
    assert not answer.answered and answer.text == NO_ANSWER and answer.citations == []
    assert answer.engine == "test-model" and answer.notice == ""


def test_answer_without_any_valid_citation_falls_back_to_the_offline_engine(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    serve(reply("Wagner arrived in Mali at some point [17]."))
    _, answer = run(gen_settings)
    assert_offline_fallback(answer, "cited none of the passages")
    offline = api.pipeline_for(gen_settings)
    assert answer.text == offline.offline.answer(api.condense(QUESTION, []), answer.retrieved).text


def test_empty_reply_falls_back_to_the_offline_engine(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    serve(reply(""))
    _, answer = run(gen_settings)
    assert_offline_fallback(answer, "empty reply")


# -- streaming ------------------------------------------------------------------------------------------


def test_answer_streams_in_pieces_as_the_model_sends_them(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    serve(reply(quoting(1, 2), size=5))
    pieces, answer = run(gen_settings)
    assert len(pieces) >= 5
    assert "".join(pieces) == answer.text


def test_stream_is_consumed_lazily(serve: Callable[..., Script], gen_settings: Settings) -> None:
    serve(reply(quoting(1), size=5))
    stream = api.ask_stream(QUESTION, settings=gen_settings)
    first = next(stream)
    assert isinstance(first, str) and len(first) <= 10
    assert isinstance(list(stream)[-1], Answer)


def test_failure_after_streaming_began_ends_with_the_offline_answer(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    broken = b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
    serve(lambda request: sse(["Wagner arrived ", "in Mali "], tail=broken))
    pieces, answer = run(gen_settings)
    assert "".join(pieces).startswith("Wagner arrived")
    assert_offline_fallback(answer)


# -- condensing follow-ups ------------------------------------------------------------------------------

HISTORY: list[Turn] = [
    {"role": "user", "content": "Who are the Wagner mercenaries?"},
    {"role": "assistant", "content": "A Russian private military company [1]."},
]


def test_follow_up_is_condensed_by_exactly_one_model_call(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    script = serve(reply("When did the Wagner mercenaries arrive in Mali?"), reply(quoting(1)))
    _, answer = run(gen_settings, "When did they arrive there?", history=HISTORY)
    condense_call, answer_call = script.bodies()
    assert not condense_call.get("stream") and answer_call["stream"] is True
    assert "Who are the Wagner mercenaries?" in condense_call["messages"][-1]["content"]
    assert "When did they arrive there?" in condense_call["messages"][-1]["content"]
    assert answer.query == "When did the Wagner mercenaries arrive in Mali?"
    assert answer_call["messages"][-1]["content"].endswith(
        "Question: When did the Wagner mercenaries arrive in Mali?"
    )
    assert answer.answered


def test_question_without_history_makes_no_condense_call(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    script = serve(reply(quoting(1)))
    run(gen_settings, "When did they arrive there?")
    assert len(script.requests) == 1 and script.bodies()[0]["stream"] is True


def test_question_that_reads_alone_makes_no_condense_call_after_an_earlier_turn(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    script = serve(reply(quoting(1)))
    _, answer = run(gen_settings, "Who is Mali's president?", history=HISTORY)
    assert len(script.requests) == 1 and script.bodies()[0]["stream"] is True
    assert answer.query == "Who is Mali's president?"
    assert "Wagner" not in script.bodies()[0]["messages"][-1]["content"].split("Question:")[-1]


def test_unusable_condensed_question_falls_back_to_the_offline_rewrite(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    script = serve(reply("   "), reply(quoting(1)))
    _, answer = run(gen_settings, "When did they arrive there?", history=HISTORY)
    assert len(script.requests) == 2 and "Wagner" in answer.query


def test_failed_condense_call_answers_offline_without_a_second_model_call(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    script = serve(error(401, f"Incorrect API key provided: {KEY}"))
    _, answer = run(gen_settings, "When did they arrive there?", history=HISTORY)
    assert len(script.requests) == 1
    assert_offline_fallback(answer, "HTTP 401")


# -- retries --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_transient_error_is_retried(
    serve: Callable[..., Script], gen_settings: Settings, status: int
) -> None:
    script = serve(fast_retry(status), reply(quoting(1)))
    _, answer = run(gen_settings)
    assert len(script.requests) == 2
    assert answer.answered and answer.engine == "test-model" and answer.notice == ""


def test_timeout_is_retried_then_answers(serve: Callable[..., Script], gen_settings: Settings) -> None:
    script = serve(httpx.ReadTimeout("slow"), reply(quoting(1)))
    _, answer = run(gen_settings)
    assert len(script.requests) == 2 and answer.engine == "test-model"


def test_retries_stop_after_max_retries(serve: Callable[..., Script], gen_settings: Settings) -> None:
    script = serve(*[fast_retry(503) for _ in range(5)])
    _, answer = run(gen_settings.with_(max_retries=1))
    assert len(script.requests) == 2
    assert_offline_fallback(answer, "HTTP 503", "after 1 retries")


def test_settings_timeout_reaches_the_request(serve: Callable[..., Script], gen_settings: Settings) -> None:
    script = serve(reply(quoting(1)))
    run(gen_settings.with_(timeout=7.5))
    assert 7.0 < script.requests[0].extensions["timeout"]["read"] <= 7.5  # bounded by the deadline too


# -- failures: the offline engine answers, with a notice naming the fix ----------------------------------


def test_wrong_key_is_not_retried_and_answers_offline(
    serve: Callable[..., Script], gen_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    script = serve(error(401, f"Incorrect API key provided: {KEY}"))
    pieces, answer = run(gen_settings)
    assert len(script.requests) == 1
    assert_offline_fallback(answer, "HTTP 401", "OPENAI_API_KEY")
    assert answer.answered and answer.citations  # the offline engine did answer
    assert "".join(pieces) == answer.text
    assert KEY not in caplog.text and "model call failed (AuthenticationError, HTTP 401)" in caplog.text


def test_connection_refused_answers_offline(gen_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the request: nothing listens there
    llm.forget_clients()
    settings = gen_settings.with_(openai_base_url=f"http://127.0.0.1:{port}/v1", max_retries=1)
    _, answer = run(settings)
    assert_offline_fallback(
        answer, f"Could not reach the model server at http://127.0.0.1:{port}", "OPENAI_BASE_URL"
    )
    assert KEY not in caplog.text
    llm.forget_clients()


def test_timeout_after_retries_answers_offline(serve: Callable[..., Script], gen_settings: Settings) -> None:
    script = serve(*[httpx.ReadTimeout("slow") for _ in range(3)])
    _, answer = run(gen_settings)
    assert len(script.requests) == 3
    assert_offline_fallback(answer, "did not answer within 5 s", "MALI_QA_TIMEOUT")


def test_rate_limit_after_retries_answers_offline(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    serve(*[fast_retry(429) for _ in range(3)])
    _, answer = run(gen_settings)
    assert_offline_fallback(answer, "HTTP 429")


def test_unknown_model_answers_offline(serve: Callable[..., Script], gen_settings: Settings) -> None:
    serve(error(404, "model not found"))
    _, answer = run(gen_settings)
    assert_offline_fallback(answer, "HTTP 404", "MALI_QA_CHAT_MODEL")


@pytest.mark.parametrize(
    "garbage",
    [
        httpx.Response(200, content=b"<html>not json</html>", headers={"content-type": "text/html"}),
        httpx.Response(200, json={"unexpected": True}),
        httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"data: {not json\n\n"),
        httpx.Response(200, content=b""),
    ],
    ids=["html", "json-without-choices", "broken-sse", "empty-body"],
)
def test_garbage_reply_answers_offline(
    serve: Callable[..., Script], gen_settings: Settings, garbage: httpx.Response
) -> None:
    serve(garbage)
    _, answer = run(gen_settings)
    assert answer.engine == "offline" and answer.notice
    assert_no_key(answer)


def test_key_never_appears_in_notice_repr_or_logs(
    serve: Callable[..., Script], gen_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    serve(error(401, f"Incorrect API key provided: {KEY}"), fast_retry(500), error(403, KEY), error(400, KEY))
    answers = [run(gen_settings)[1] for _ in range(3)]
    model = llm.get_llm(gen_settings)
    assert_no_key(*answers, [a.to_dict() for a in answers], gen_settings, model, model.to_dict())
    assert KEY not in caplog.text


def test_notice_never_echoes_the_error_text(serve: Callable[..., Script], gen_settings: Settings) -> None:
    serve(error(401, "Incorrect API key provided: sk-proj-abc...wxyz. Find your key at ..."))
    _, answer = run(gen_settings)
    assert "sk-proj" not in answer.notice


# -- clients --------------------------------------------------------------------------------------------


def test_only_a_key_uses_openai_with_the_key_as_bearer(
    serve: Callable[..., Script], built_settings: Settings
) -> None:
    from llama_index.llms.openai import OpenAI
    from llama_index.llms.openai_like import OpenAILike

    settings = built_settings.with_(openai_api_key=SecretStr(KEY), chat_model="gpt-4o-mini", max_retries=0)
    assert settings.use_generative
    script = serve(reply(quoting(1)))
    _, answer = run(settings)
    request = script.requests[0]
    assert str(request.url) == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert answer.engine == "gpt-4o-mini" and answer.answered
    model = llm.get_llm(settings)
    assert isinstance(model, OpenAI) and not isinstance(model, OpenAILike)
    assert script.bodies()[0]["max_tokens"] == llm.MAX_REPLY_TOKENS


def test_base_url_uses_openai_like(gen_settings: Settings) -> None:
    from llama_index.llms.openai_like import OpenAILike

    model = llm.build_llm(gen_settings)
    assert isinstance(model, OpenAILike) and model.api_base == BASE and model.max_retries == 0


def test_model_unknown_to_llama_index_without_base_url_uses_openai_like(built_settings: Settings) -> None:
    from llama_index.llms.openai_like import OpenAILike

    settings = built_settings.with_(openai_api_key=SecretStr(KEY), chat_model="gpt-9-nano")
    assert isinstance(llm.build_llm(settings), OpenAILike)


def test_reasoning_model_gets_no_token_cap(built_settings: Settings) -> None:
    from llama_index.llms.openai import OpenAI

    model = llm.build_llm(built_settings.with_(openai_api_key=SecretStr(KEY), chat_model="gpt-5.4-mini"))
    assert isinstance(model, OpenAI)
    assert model.max_tokens is None and model.reasoning_effort == "low"


def test_model_that_cannot_be_set_up_answers_offline(built_settings: Settings) -> None:
    settings = built_settings.with_(
        openai_api_key=SecretStr(KEY), chat_model="gpt-5.2-pro"
    )  # Responses API only
    llm.forget_clients()
    _, answer = run(settings)
    assert_offline_fallback(answer, "'gpt-5.2-pro' could not be set up", "MALI_QA_CHAT_MODEL")


def test_tokenizer_uses_the_bundled_tiktoken_files(built_settings: Settings) -> None:
    from llama_index.llms.openai import OpenAI

    model = llm.build_llm(built_settings.with_(openai_api_key=SecretStr(KEY), chat_model="gpt-4o-mini"))
    assert isinstance(model, OpenAI)
    assert os.environ["TIKTOKEN_CACHE_DIR"].endswith("tiktoken_cache")
    assert any(Path(os.environ["TIKTOKEN_CACHE_DIR"]).iterdir())
    assert model._tokenizer is not None and len(model._tokenizer.encode("Wagner in Mali")) > 0


def test_offline_engine_setting_never_calls_the_model(
    serve: Callable[..., Script], gen_settings: Settings
) -> None:
    script = serve(reply(quoting(1)))
    _, answer = run(gen_settings.with_(engine="offline"))
    assert answer.engine == "offline" and script.requests == []


def test_offline_path_imports_neither_openai_nor_the_generative_engine() -> None:
    code = (
        "import sys, mali_qa, mali_qa.service; g = 'mali_qa.answer.generative' in sys.modules; "
        "import mali_qa.answer.generative; print(g, 'openai' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["False", "False"]  # and importing the engine builds no client
