"""The service's pieces without a server or an index: the guards, the response shapes (checked with the
`openai` package's own types), the choice of engine, and `mali-qa serve` refusing to listen unprotected."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from mali_qa.config import Settings
from mali_qa.errors import ConfigError
from mali_qa.server.schemas import (
    OFFLINE_MODEL,
    ChatMessage,
    chunk,
    completion,
    error_json,
    split_conversation,
)
from mali_qa.server.security import BodyLimit, Limiter, TokenCheck, check_bind, is_loopback
from mali_qa.types import NO_ANSWER, Answer, Citation

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mali_qa"


def settings(**values: Any) -> Settings:
    return Settings.from_env(env_file=os.devnull, **values)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.org", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_listening_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(ConfigError, match="MALI_QA_SERVER_TOKEN"):
        check_bind("0.0.0.0", settings())
    check_bind("0.0.0.0", settings(server_token="s3cret"))
    check_bind("127.0.0.1", settings())


def test_serve_refuses_to_start_beyond_loopback_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mali_qa import cli, service

    monkeypatch.setattr(service, "default_settings", lambda: settings())
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "8999"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("mali-qa: error: --host 0.0.0.0") and "MALI_QA_SERVER_TOKEN" in err
    assert "Traceback" not in err


def test_the_token_is_hidden_in_settings_and_errors() -> None:
    s = settings(server_token="s3cret-token")
    assert "s3cret-token" not in repr(s) and "s3cret-token" not in str(s.server_token)
    with pytest.raises(ConfigError, match="MALI_QA_SERVER_MAX_CONCURRENT must be between 1 and 256"):
        settings(server_max_concurrent=0)


def test_token_check() -> None:
    check = TokenCheck(settings(server_token="right"))
    assert check.problem("Bearer right", "127.0.0.1") is None
    assert check.problem("bearer right", "10.0.0.5") is None
    missing = check.problem(None, "127.0.0.1")
    assert missing is not None and missing[0] == 401 and "Authorization: Bearer" in missing[1]
    wrong = check.problem("Bearer wrong", "127.0.0.1")
    assert wrong is not None and wrong[0] == 401 and "wrong" not in wrong[1]
    assert check.problem("Basic right", "127.0.0.1") is not None


def test_without_a_token_only_loopback_requests_are_answered() -> None:
    check = TokenCheck(settings())
    assert check.problem(None, "127.0.0.1") is None
    assert check.problem(None, "::1") is None
    refused = check.problem("Bearer anything", "10.0.0.5")
    assert refused is not None and refused[0] == 403 and "MALI_QA_SERVER_TOKEN" in refused[1]


def test_limiter_never_goes_past_its_bound() -> None:
    limiter = Limiter(2)
    assert limiter.try_acquire() and limiter.try_acquire()
    assert not limiter.try_acquire()
    limiter.release()
    assert limiter.try_acquire()
    for _ in range(5):
        limiter.release()
    assert limiter.active == 0


def test_the_conversation_splits_into_question_and_history() -> None:
    messages = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="Who controlled the Wagner Group?"),
        ChatMessage(role="assistant", content=[{"type": "text", "text": "Prigozhin [1]"}]),  # type: ignore[list-item]
        ChatMessage(
            role="user",
            content=[{"type": "text", "text": "And what happened "}, {"type": "text", "text": "to him?"}],
        ),  # type: ignore[list-item]
    ]
    question, history = split_conversation(messages)
    assert question == "And what happened to him?"
    assert history == [
        {"role": "user", "content": "Who controlled the Wagner Group?"},
        {"role": "assistant", "content": "Prigozhin [1]"},
    ]
    with pytest.raises(ValueError, match="last message must be the user's"):
        split_conversation(messages[:3])


def _answer() -> Answer:
    citation = Citation(
        source="002_x",
        title="Last French troops leave Mali",
        text="The last French soldiers left Mali on Monday. They crossed into Niger.",
        score=0.5,
        quote="The last French soldiers left Mali on Monday.",
        start=100,
        end=170,
        quote_start=100,
        quote_end=145,
        answer_start=138,
        answer_end=144,
    )
    return Answer(
        text="The last French soldiers left Mali on Monday. [1]", answered=True, citations=[citation]
    )


def test_a_completion_is_what_the_openai_client_reads() -> None:
    body = completion(_answer())
    parsed = ChatCompletion.model_validate(body)
    assert parsed.model == OFFLINE_MODEL and parsed.choices[0].message.content.endswith("[1]")  # type: ignore[union-attr]
    cited = body["citations"][0]
    assert cited["number"] == 1 and cited["passage"].startswith("The last")
    assert cited["offsets"] == {"passage": [100, 170], "quote": [100, 145], "answer": [138, 144]}
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", body["id"])
    generative = completion(Answer(text=NO_ANSWER, answered=False, engine="gpt-4.1-mini"))
    assert generative["model"] == "gpt-4.1-mini" and generative["answered"] is False


def test_a_chunk_is_what_the_openai_client_reads() -> None:
    ChatCompletionChunk.model_validate(chunk("chatcmpl-1", 1, OFFLINE_MODEL, {"content": "Mali"}))
    last = chunk("chatcmpl-1", 1, OFFLINE_MODEL, {}, "stop", citations=[], answered=False)
    assert ChatCompletionChunk.model_validate(last).choices[0].finish_reason == "stop"


def test_error_bodies_have_openai_shape() -> None:
    assert error_json(429, "busy", code="rate_limit_exceeded") == {
        "error": {"message": "busy", "type": "rate_limit_error", "param": None, "code": "rate_limit_exceeded"}
    }
    assert error_json(401, "no")["error"]["type"] == "authentication_error"
    assert error_json(502, "down")["error"]["type"] == "server_error"


def test_models_offered_follow_the_engine_setting() -> None:
    from mali_qa.server.app import ApiError, Engines

    offline = Engines(settings())
    assert list(offline.by_model) == [OFFLINE_MODEL] and offline.default == OFFLINE_MODEL
    generative = Engines(settings(openai_base_url="http://127.0.0.1:9/v1", chat_model="local-model"))
    assert list(generative.by_model) == ["local-model", OFFLINE_MODEL]
    assert generative.settings_for("").use_generative
    assert not generative.settings_for(OFFLINE_MODEL).use_generative
    forced = Engines(settings(openai_base_url="http://127.0.0.1:9/v1", engine="offline"))
    assert list(forced.by_model) == [OFFLINE_MODEL]
    with pytest.raises(ApiError) as caught:
        generative.settings_for("gpt-4o")
    assert caught.value.status == 404 and "local-model, mali-qa-offline" in caught.value.message


def _drive(app: BodyLimit, messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]]) -> list[Any]:
    sent: list[Any] = []
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/ask", "headers": headers}
    asyncio.run(app(scope, receive, send))
    return sent


def test_body_limit_on_declared_and_chunked_bodies() -> None:
    seen: list[bytes] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = BodyLimit(inner, limit=10)
    declared = _drive(app, [{"type": "http.request", "body": b"x" * 11}], [(b"content-length", b"11")])
    assert declared[0]["status"] == 413 and b"over the limit of 10 bytes" in declared[1]["body"]
    parts = [
        {"type": "http.request", "body": b"x" * 6, "more_body": True},
        {"type": "http.request", "body": b"x" * 6},
    ]
    assert _drive(app, parts, [])[0]["status"] == 413
    parts = [
        {"type": "http.request", "body": b"abc", "more_body": True},
        {"type": "http.request", "body": b"def"},
    ]
    assert _drive(app, parts, [])[0]["status"] == 200 and seen == [b"abcdef"]


def test_only_the_cli_imports_the_server() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "server" in path.relative_to(PACKAGE).parts or path.name == "cli.py":
            continue
        assert "mali_qa.server" not in path.read_text(encoding="utf-8"), f"{path.name} imports the server"


def _get(app: Any, base: str, path: str, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as client:
            return await client.request(
                "OPTIONS" if "access-control-request-method" in headers else "GET", path, headers=headers
            )

    return asyncio.run(go())


def test_no_cors_unless_origins_are_configured() -> None:
    from mali_qa.server.app import create_app

    origin = "https://chat.example.org"
    closed = create_app(settings())
    assert (
        "access-control-allow-origin"
        not in _get(closed, "http://127.0.0.1", "/v1/models", origin=origin).headers
    )
    opened = create_app(
        settings(server_cors_origins=f"{origin}, https://other.example.org", server_token="t")
    )
    preflight = _get(
        opened,
        "http://127.0.0.1",
        "/v1/chat/completions",
        origin=origin,
        **{
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == origin
    listed = _get(opened, "http://127.0.0.1", "/v1/models", origin=origin, authorization="Bearer t")
    assert listed.status_code == 200 and listed.headers["access-control-allow-origin"] == origin
    other = _get(
        opened, "http://127.0.0.1", "/v1/models", origin="https://evil.example.org", authorization="Bearer t"
    )
    assert "access-control-allow-origin" not in other.headers


def test_without_a_token_a_request_through_another_address_gets_403() -> None:
    from mali_qa.server.app import create_app

    app = create_app(settings())
    assert _get(app, "http://127.0.0.1", "/v1/models").status_code == 200
    refused = _get(app, "http://10.0.0.5", "/v1/models", host="127.0.0.1")  # reached through 10.0.0.5
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "loopback_only"
