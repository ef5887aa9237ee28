"""`mali-qa serve` as clients see it: a real uvicorn on a free loopback port, over an index built from the
seeds, driven by the official `openai` client and by httpx."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servers import ROOT, free_port, stop, wait_healthy

pytestmark = pytest.mark.integration

NO_ANSWER = "The articles don't say."
KEY = "sk-test-SECRET-server-4242"
QUESTIONS = [
    "When did France leave Mali?",
    "Who controlled the Wagner Group?",
    "Why are Russian soldiers in Timbuktu?",
    "How many French troops were deployed in Mali?",
    "What is the capital of Australia?",
]


@dataclass
class Server:
    url: str
    token: str
    log: Path
    proc: subprocess.Popen[bytes]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def openai(self, api_key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"{self.url}/v1", api_key=api_key or self.token or "unused", max_retries=0, timeout=60
        )

    def ask(self, question: str, **body: Any) -> httpx.Response:
        return httpx.post(
            f"{self.url}/v1/ask", json={"question": question, **body}, headers=self.headers(), timeout=60
        )


def start_server(settings: Any, work: Path, **env: str) -> Iterator[Server]:
    """`mali-qa serve` in a child process over the index of `settings`, stopped by its process id."""
    port = free_port()
    child_env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST", "MALI_QA_SERVER_TOKEN")
    }
    child_env.update(
        MALI_QA_VECTORSTORE_DIR=str(settings.vectorstore_dir),
        MALI_QA_SEEDS_DIR=str(settings.seeds_dir),
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        PYTHONUNBUFFERED="1",
        **env,
    )
    log = work / f"serve-{port}.log"
    command = [sys.executable, "-m", "mali_qa.cli", "serve", "--port", str(port), "--log-level", "info"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=child_env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{url}/health", proc, name="mali-qa serve", log=log, timeout=180.0)
        yield Server(url, env.get("MALI_QA_SERVER_TOKEN", ""), log, proc)
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def server(built_settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The offline service with a token."""
    yield from start_server(
        built_settings,
        tmp_path_factory.mktemp("serve"),
        MALI_QA_ENGINE="offline",
        MALI_QA_SERVER_TOKEN=secrets.token_urlsafe(24),
    )


@pytest.fixture(scope="module")
def tight_server(built_settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """No token, one answer at a time, and a chat model configured whose server is down (so every
    generative answer falls back to the offline engine) with a key that must never show."""
    dead = free_port()
    yield from start_server(
        built_settings,
        tmp_path_factory.mktemp("serve-tight"),
        MALI_QA_SERVER_MAX_CONCURRENT="1",
        MALI_QA_SERVER_MAX_BODY_BYTES="5000",
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=f"http://127.0.0.1:{dead}/v1",
        MALI_QA_CHAT_MODEL="test-chat-model",
        MALI_QA_MAX_RETRIES="0",
        MALI_QA_TIMEOUT="5",
    )


def in_process(question: str, settings: Any, history: list[dict[str, str]] | None = None) -> dict[str, Any]:
    from mali_qa import ask

    data = ask(question, history=history, settings=settings).to_dict()  # type: ignore[arg-type]
    data.pop("retrieved")
    return data


# --- the official openai client ------------------------------------------------------------------------


def test_openai_client_gets_the_answer_with_citations(server: Server, built_settings: Any) -> None:
    reply = server.openai().chat.completions.create(
        model="mali-qa-offline", messages=[{"role": "user", "content": "When did France leave Mali?"}]
    )
    expected = in_process("When did France leave Mali?", built_settings)
    assert reply.model == "mali-qa-offline"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == expected["text"]
    assert "[1]" in expected["text"]
    extra = reply.model_extra or {}
    assert extra["answered"] is True
    assert [c["source"] for c in extra["citations"]] == [c["source"] for c in expected["citations"]]
    first = extra["citations"][0]
    assert first["number"] == 1 and first["title"] and first["quote"] in first["passage"]
    article = httpx.get(
        f"{server.url}/v1/articles/{first['source']}", headers=server.headers(), timeout=30
    ).json()
    start, end = first["offsets"]["quote"]
    assert article["text"][start:end] == first["quote"]
    start, end = first["offsets"]["passage"]
    assert article["text"][start:end] == first["passage"]


def test_openai_client_streams_the_same_answer(server: Server) -> None:
    client = server.openai()
    messages: Any = [{"role": "user", "content": "Who are the Wagner Group in Mali?"}]
    whole = client.chat.completions.create(model="mali-qa-offline", messages=messages)
    pieces, chunks = [], []
    for part in client.chat.completions.create(model="mali-qa-offline", messages=messages, stream=True):
        chunks.append(part)
        if part.choices and part.choices[0].delta.content:
            pieces.append(part.choices[0].delta.content)
    assert len(pieces) > 1, "the answer should arrive in several pieces"
    assert "".join(pieces) == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert (last.model_extra or {})["citations"] == (whole.model_extra or {})["citations"]
    assert len({c.id for c in chunks}) == 1


def test_the_stream_is_server_sent_events_ending_in_done(server: Server) -> None:
    body = {
        "model": "mali-qa-offline",
        "stream": True,
        "messages": [{"role": "user", "content": "Who is Goita?"}],
    }
    with httpx.stream(
        "POST", f"{server.url}/v1/chat/completions", json=body, headers=server.headers(), timeout=60
    ) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        events = [line for line in reply.iter_lines() if line]
    assert all(line.startswith("data: ") for line in events)
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[-2][6:])["choices"][0]["finish_reason"] == "stop"


def test_a_follow_up_uses_the_history(server: Server, built_settings: Any) -> None:
    first = server.openai().chat.completions.create(
        model="mali-qa-offline", messages=[{"role": "user", "content": "Who are the Wagner Group in Mali?"}]
    )
    earlier = first.choices[0].message.content or ""
    history = [
        {"role": "user", "content": "Who are the Wagner Group in Mali?"},
        {"role": "assistant", "content": earlier},
    ]
    messages: Any = [
        {"role": "system", "content": "You are a helpful assistant."},
        *history,
        {"role": "user", "content": "And what happened to him?"},
    ]
    reply = server.openai().chat.completions.create(model="mali-qa-offline", messages=messages)
    expected = in_process("And what happened to him?", built_settings, history)
    extra = reply.model_extra or {}
    assert reply.choices[0].message.content == expected["text"]
    assert extra["answered"] is True
    assert "Prigozhin" in extra["query"], "the follow-up is searched with the person it refers to"


def test_an_unanswerable_question_says_the_articles_dont_say(server: Server) -> None:
    reply = server.openai().chat.completions.create(
        model="mali-qa-offline", messages=[{"role": "user", "content": "What is the capital of Australia?"}]
    )
    extra = reply.model_extra or {}
    assert reply.choices[0].message.content == NO_ANSWER
    assert extra["answered"] is False and extra["citations"] == []


def test_a_bad_or_missing_token_is_refused(server: Server) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        server.openai(api_key="not-the-token").chat.completions.create(
            model="mali-qa-offline", messages=[{"role": "user", "content": "When did France leave Mali?"}]
        )
    assert "invalid bearer token" in str(caught.value)
    assert "not-the-token" not in str(caught.value)
    reply = httpx.post(f"{server.url}/v1/ask", json={"question": "When?"}, timeout=30)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"
    assert reply.json()["error"]["type"] == "authentication_error"
    assert "MALI_QA_SERVER_TOKEN" in reply.json()["error"]["message"]


def test_an_oversized_body_is_refused_before_it_is_read(server: Server) -> None:
    huge = "Mali " * 400_000  # 2 MB, over the default 1 MB
    with pytest.raises(openai.APIStatusError) as caught:
        server.openai().chat.completions.create(
            model="mali-qa-offline", messages=[{"role": "user", "content": huge}]
        )
    assert caught.value.status_code == 413
    assert "over the limit of 1000000 bytes" in str(caught.value)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent in chunks
        yield b'{"question": "'
        for _ in range(300):
            yield b"x" * 4096
        yield b'"}'

    reply = httpx.post(
        f"{server.url}/v1/ask",
        content=chunks(),
        headers={**server.headers(), "Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 413
    assert reply.json()["error"]["code"] == "request_too_large"


def test_openai_client_lists_the_models(server: Server) -> None:
    assert [model.id for model in server.openai().models.list()] == ["mali-qa-offline"]


# --- httpx: /v1/ask, /health, /v1/articles and errors -------------------------------------------------


def test_ask_returns_the_answer_as_json(server: Server, built_settings: Any) -> None:
    reply = server.ask("When did France leave Mali?")
    assert reply.status_code == 200
    data = reply.json()
    assert data.pop("model") == "mali-qa-offline"
    assert data == in_process("When did France leave Mali?", built_settings)
    with_passages = server.ask("When did France leave Mali?", top_k=3, retrieved=True).json()
    assert len(with_passages["retrieved"]) == 3


def test_health_and_articles(server: Server) -> None:
    health = httpx.get(f"{server.url}/health", timeout=30)  # no token needed
    assert health.status_code == 200
    data = health.json()
    assert data["status"] == "ok" and data["index_loaded"] is True
    assert data["articles"] == 5 and data["passages"] > 5
    articles = httpx.get(f"{server.url}/v1/articles", headers=server.headers(), timeout=30).json()
    assert articles["total"] == 5 and len(articles["data"]) == 5
    assert all(a["id"] and a["title"] and a["characters"] > 0 for a in articles["data"])
    assert httpx.get(f"{server.url}/v1/articles", timeout=30).status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/v1/ask", {"question": "   "}, 400, "the question is empty"),
        ("/v1/ask", {"question": "Mali? " * 300}, 400, "MALI_QA_MAX_QUESTION_CHARS"),
        ("/v1/ask", {"question": "When?", "top_k": 99}, 400, "top_k"),
        ("/v1/ask", {"question": "When?", "history": [{"role": "system", "content": "x"}]}, 400, "history"),
        ("/v1/ask", {"questio": "typo"}, 400, "question"),
        ("/v1/ask", {"question": "When?", "model": "gpt-4o"}, 404, "GET /v1/models"),
        ("/v1/chat/completions", {"messages": []}, 400, "messages"),
        (
            "/v1/chat/completions",
            {"stream": True, "messages": [{"role": "user", "content": " "}]},
            400,
            "the question is empty",
        ),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "assistant", "content": "hi"}]},
            400,
            "last message must be the user's",
        ),
        ("/v1/articles/no-such-article", None, 404, "GET /v1/articles"),
        ("/v1/nowhere", None, 404, "/docs"),
    ],
)
def test_errors_come_in_openai_shape_with_a_clear_message(
    server: Server, path: str, body: Any, status: int, words: str
) -> None:
    url = f"{server.url}{path}"
    reply = (
        httpx.post(url, json=body, headers=server.headers(), timeout=30)
        if body is not None
        else httpx.get(url, headers=server.headers(), timeout=30)
    )
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert words in error["message"]
    assert error["type"] == ("not_found_error" if status == 404 else "invalid_request_error")


def test_malformed_json_and_the_docs(server: Server) -> None:
    reply = httpx.post(
        f"{server.url}/v1/ask",
        content=b"{not json",
        headers={**server.headers(), "Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 400 and "not valid JSON" in reply.json()["error"]["message"]
    assert httpx.get(f"{server.url}/docs", timeout=30).status_code == 200
    paths = httpx.get(f"{server.url}/openapi.json", timeout=30).json()["paths"]
    assert {"/v1/chat/completions", "/v1/ask", "/v1/models", "/v1/articles", "/health"} <= set(paths)


def test_concurrent_answers_equal_the_sequential_ones(server: Server) -> None:
    sequential = {q: server.ask(q).json() for q in QUESTIONS}
    jobs = QUESTIONS * 4  # 20 requests
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(server.ask, jobs))
    assert [r.status_code for r in replies] == [200] * len(jobs)
    for question, reply in zip(jobs, replies, strict=True):
        assert reply.json() == sequential[question], question


# --- the bound on answers at once, the model's key, and a chat model that is down -------------------


def test_beyond_the_bound_a_429_with_retry_after(tight_server: Server) -> None:
    sequential = {q: tight_server.ask(q, model="mali-qa-offline").json() for q in QUESTIONS}
    refused: list[httpx.Response] = []

    def burst(gate: threading.Barrier, offset: int) -> list[tuple[str, httpx.Response]]:
        gate.wait()
        asked = [QUESTIONS[(offset + i) % len(QUESTIONS)] for i in range(5)]
        return [(q, tight_server.ask(q, model="mali-qa-offline")) for q in asked]

    for _ in range(5):  # a burst of 20 from 4 threads against a bound of 1 almost surely meets a 429
        gate = threading.Barrier(4)
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = [pair for batch in pool.map(burst, [gate] * 4, range(4)) for pair in batch]
        for question, reply in results:
            if reply.status_code == 429:
                refused.append(reply)
            else:
                assert reply.status_code == 200 and reply.json() == sequential[question]
        if refused:
            break
    assert refused, "no request met the bound of 1 answer at once"
    assert refused[0].headers["retry-after"] == "1"
    error = refused[0].json()["error"]
    assert error["type"] == "rate_limit_error" and "MALI_QA_SERVER_MAX_CONCURRENT" in error["message"]


def test_a_chat_model_that_is_down_falls_back_and_the_key_never_shows(tight_server: Server) -> None:
    client = tight_server.openai()
    assert [m.id for m in client.models.list()] == ["test-chat-model", "mali-qa-offline"]
    messages: Any = [{"role": "user", "content": "When did France leave Mali?"}]
    reply = client.chat.completions.create(model="test-chat-model", messages=messages)
    extra = reply.model_extra or {}
    assert reply.model == "mali-qa-offline", "the model field names the engine that answered"
    assert extra["answered"] is True and "offline engine" in extra["notice"]
    streamed = "".join(
        part.choices[0].delta.content or ""
        for part in client.chat.completions.create(model="test-chat-model", messages=messages, stream=True)
        if part.choices
    )
    assert streamed == reply.choices[0].message.content
    seen = [reply.model_dump_json(), streamed]
    for path in ("/health", "/v1/models", "/v1/articles", "/openapi.json"):
        answer = httpx.get(f"{tight_server.url}{path}", timeout=30)
        seen += [answer.text, json.dumps(dict(answer.headers))]
    seen.append(tight_server.ask("When did France leave Mali?").text)
    too_big = httpx.post(f"{tight_server.url}/v1/ask", json={"question": "x" * 6000}, timeout=30)
    assert too_big.status_code == 413
    seen.append(too_big.text)
    seen.append(tight_server.log.read_text(errors="replace"))
    assert all(KEY not in text for text in seen)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=st.text(alphabet=st.characters(codec=None), max_size=300))
def test_any_question_gets_an_answer_or_an_openai_shaped_error(server: Server, question: str) -> None:
    """The fuzz of issue 12 over HTTP: every code point (surrogates included, sent as JSON escapes)."""
    body = json.dumps({"question": question})  # ensure_ascii: lone surrogates travel as \\udXXX escapes
    reply = httpx.post(
        f"{server.url}/v1/ask",
        content=body,
        headers={**server.headers(), "Content-Type": "application/json"},
        timeout=60,
    )
    assert reply.status_code in (200, 400, 422), reply.text[:300]
    data = reply.json()
    if reply.status_code == 200:
        assert isinstance(data["text"], str) and isinstance(data["answered"], bool)
        markers = {int(n) for n in re.findall(r"\[(\d+)\]", data["text"])}
        assert markers <= set(range(1, len(data["citations"]) + 1))
    else:
        assert set(data["error"]) >= {"message", "type"} and data["error"]["message"]
