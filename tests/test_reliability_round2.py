"""Issue 27 (reliability, round 2), the findings that need no index: the service's error shapes, answer
slots and guards (Host header, token, paths in /health, strict top_k), the unsupported claims of a chat
completion, the model's server shown without credentials, the terminal output of the CLI, feedback writes
and reads, UTF-16 articles. Each test failed on 949742d."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai.types.chat import ChatCompletionChunk

from mali_qa.config import Settings
from mali_qa.errors import ConfigError
from mali_qa.types import Answer, Citation

SURROGATE = "\ud800"
HOSTILE = "France left \x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZWNobyBoaQ==\x07 Mali\x9b31m [1]."


def settings(**values: Any) -> Settings:
    return Settings.from_env(env_file=os.devnull, **values)


def call(app: Any, method: str, path: str, host: str = "127.0.0.1", **kwargs: Any) -> httpx.Response:
    """One request to the app in this process (the app's own exceptions become its 500 response)."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def assert_openai_error(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text[:300]
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return dict(error)


def cited_answer(text: str = "France left Mali [1].", unsupported: list[str] | None = None) -> Answer:
    citation = Citation(source="a", title="T", text="France left Mali.", score=1.0, quote="France left Mali.")
    return Answer(text=text, answered=True, citations=[citation], unsupported=unsupported or [])


@pytest.fixture
def fake_answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The app's `ask` and `ask_stream` replaced by scripted ones (no index): `items` is what a stream
    yields (an exception in it is raised there), `answer` what `ask` returns."""
    from mali_qa.server import app as app_module

    script: dict[str, Any] = {"items": [], "answer": cited_answer()}

    def ask_stream(question: str, **kwargs: Any) -> Iterator[Any]:
        for item in script["items"]:
            if isinstance(item, BaseException):
                raise item
            yield item

    monkeypatch.setattr(app_module, "ask_stream", ask_stream)
    monkeypatch.setattr(app_module, "ask", lambda question, **kwargs: script["answer"])
    yield script


def chat(app: Any, *, stream: bool, top_k: Any = None) -> httpx.Response:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": "When did France leave?"}],
        "stream": stream,
    }
    if top_k is not None:
        body["top_k"] = top_k
    return call(app, "POST", "/v1/chat/completions", json=body)


def events(reply: httpx.Response) -> list[str]:
    return [line[6:] for line in reply.text.splitlines() if line.startswith("data: ")]


# -- finding 3: errors in OpenAI's shape, a failing stream ends properly, the slot comes back ----------


def test_a_reply_that_cannot_be_encoded_is_an_openai_error_not_plain_text(
    fake_answers: dict[str, Any],
) -> None:
    from mali_qa.server.app import create_app

    app = create_app(settings())
    fake_answers["answer"] = cited_answer(f"France announced its withdrawal {SURROGATE} in February [1].")
    for reply in (call(app, "POST", "/v1/ask", json={"question": "When?"}), chat(app, stream=False)):
        error = assert_openai_error(reply, 500)
        assert error["type"] == "server_error" and "internal error" in error["message"]


def test_a_stream_with_unencodable_text_still_ends_with_done_and_frees_its_slot(
    fake_answers: dict[str, Any],
) -> None:
    from mali_qa.server.app import create_app

    app = create_app(settings(server_max_concurrent=1))
    fake_answers["items"] = [f"France announced {SURROGATE}", " in February [1].", cited_answer()]
    for _ in range(3):  # with one slot, a slot kept by a broken stream makes the next request a 429
        reply = chat(app, stream=True)
        assert reply.status_code == 200
        data = events(reply)
        assert data[-1] == "[DONE]" and json.loads(data[-2])["choices"][0]["finish_reason"] == "stop"


def test_a_stream_failing_half_way_sends_an_error_event_then_done(fake_answers: dict[str, Any]) -> None:
    from mali_qa.server.app import create_app

    app = create_app(settings(server_max_concurrent=1))
    fake_answers["items"] = ["France announced ", TypeError("boom")]
    for _ in range(3):
        data = events(chat(app, stream=True))
        assert data[-1] == "[DONE]"
        assert json.loads(data[-2])["error"]["type"] == "server_error"
    assert chat(app, stream=False).status_code == 200


def test_an_unexpected_error_anywhere_is_in_openai_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    from mali_qa.server import app as app_module

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(app_module, "index_info", broken)  # /health has no handler of its own for this
    reply = call(app_module.create_app(settings()), "GET", "/health")
    assert_openai_error(reply, 500)


def test_a_slot_is_given_back_once() -> None:
    from mali_qa.server.security import Limiter

    limiter = Limiter(2)
    first, second = limiter.take(), limiter.take()
    assert first is not None and second is not None and limiter.take() is None
    for _ in range(3):
        first.release()
    assert limiter.active == 1


# -- finding 5(b): the unsupported claims reach a chat completion's client ----------------------------


def test_chat_completions_carry_the_unsupported_claims(fake_answers: dict[str, Any]) -> None:
    from mali_qa.server.app import create_app

    invented = "Putin personally visited Timbuktu in 2023."
    answer = cited_answer(f"France left Mali [1]. {invented}", unsupported=[invented])
    fake_answers["answer"] = answer
    fake_answers["items"] = [answer.text, answer]
    app = create_app(settings())
    assert chat(app, stream=False).json()["unsupported"] == [invented]
    last = json.loads(events(chat(app, stream=True))[-2])
    assert last["unsupported"] == [invented]
    assert ChatCompletionChunk.model_validate(last).choices[0].finish_reason == "stop"


# -- finding 7: the model's server is shown without credentials --------------------------------------

CREDENTIALED = "http://user:password@models.example.org:8443/v1?api-key=SECRET-in-query"


def test_the_sidebar_names_the_model_server_without_credentials() -> None:
    from page.labels import engine_lines

    lines = engine_lines(settings(openai_base_url=CREDENTIALED, chat_model="fake"))
    shown = " ".join(lines)
    assert "password" not in shown and "SECRET" not in shown and "user" not in shown
    assert "http://models.example.org:8443" in shown


@pytest.mark.parametrize(
    ("url", "label"),
    [
        (CREDENTIALED, "http://models.example.org:8443"),
        ("http://user:pw@[::1]:8080/v1", "http://[::1]:8080"),
        ("http://user:pw@host:notaport/v1", "http://host"),
        ("", "https://api.openai.com"),
    ],
)
def test_server_label_never_fails_and_never_shows_credentials(url: str, label: str) -> None:
    from mali_qa.config import server_label

    assert server_label(settings(openai_base_url=url)) == label


# -- finding 9: /health shows no server path to a client without the token -----------------------------


def test_health_without_the_token_shows_no_absolute_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mali_qa.errors import IndexUnavailableError
    from mali_qa.server import app as app_module

    store = tmp_path / "very" / "private" / "vectorstore"

    def damaged(settings: Settings) -> Any:  # the message of search/index.py for a damaged index
        raise IndexUnavailableError(
            f"the index in {store} is damaged (InternalError): run `mali-qa ingest --rebuild`"
        )

    monkeypatch.setattr(app_module, "index_info", damaged)
    app = app_module.create_app(settings(vectorstore_dir=store, server_token="t0ken"))
    public = call(app, "GET", "/health")
    assert public.status_code == 503
    assert str(tmp_path) not in public.text and "private" not in public.text
    assert "the index in vectorstore is damaged" in public.json()["error"]  # the folder, by its name
    trusted = call(app, "GET", "/health", headers={"Authorization": "Bearer t0ken"})
    assert str(store) in trusted.json()["error"]


# -- finding 10: the Host header must name loopback (DNS rebinding) unless configured -------------------


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1", 200),
        ("127.0.0.1:8000", 200),
        ("localhost:8000", 200),
        ("LOCALHOST", 200),
        ("[::1]:8000", 200),
        ("rebind.attacker.example", 400),
        ("rebind.attacker.example:8000", 400),
        ("127.0.0.1.attacker.example", 400),
    ],
)
def test_only_loopback_host_headers_are_answered_without_a_token(host: str, status: int) -> None:
    from mali_qa.server.app import create_app

    reply = call(create_app(settings()), "GET", "/v1/models", headers={"Host": host})
    assert reply.status_code == status
    if status == 400:
        error = assert_openai_error(reply, 400)
        assert error["code"] == "host_not_allowed" and "MALI_QA_SERVER_ALLOWED_HOSTS" in error["message"]
        assert call(create_app(settings()), "GET", "/health", headers={"Host": host}).status_code == 400


def test_allowed_hosts_are_configured_in_the_settings() -> None:
    from mali_qa.server.app import create_app

    app = create_app(settings(server_allowed_hosts="qa.example.org, other.example.org"))
    assert call(app, "GET", "/v1/models", headers={"Host": "qa.example.org:8000"}).status_code == 200
    assert call(app, "GET", "/v1/models", headers={"Host": "evil.example.org"}).status_code == 400
    tokened = create_app(settings(server_token="t"))  # a token guards a server any name may reach
    reply = call(
        tokened, "GET", "/v1/models", headers={"Host": "qa.example.org", "Authorization": "Bearer t"}
    )
    assert reply.status_code == 200


# -- finding 11: the CLI never prints terminal control sequences ------------------------------------


def test_the_cli_strips_terminal_controls_from_what_it_prints(capsys: pytest.CaptureFixture[str]) -> None:
    from mali_qa import cli

    answer = cited_answer(HOSTILE)
    answer.short, answer.notice = "\x1b[31mFebruary\x1b[0m", "model \x1b]52;c;aGk=\x07 failed"
    answer.citations[0] = dataclasses.replace(answer.citations[0], title="Head\x1b[2Jline\x90x")
    for as_json in (False, True):
        cli._print_answer(answer, as_json)
        out = capsys.readouterr().out
        assert not any(ch in out for ch in "\x1b\x07\x9b\x90"), repr(out)
        assert "France left" in out and "Mali" in out
    assert cli.terminal_safe("a\tb\nc\x00d\x7fe\u202ef") == "a\tb\ncdef"


def test_cli_errors_strip_terminal_controls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mali_qa import cli, service
    from mali_qa.errors import InvalidQuestionError

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise InvalidQuestionError("no article \x1b]0;title\x07named that")

    monkeypatch.setattr(service, "ask", refuse)
    assert cli.main(["ask", "x"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "named that" in err


# -- finding 12: feedback writes are whole or fail; odd records are skipped --------------------------


def test_a_short_feedback_write_is_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from page import store

    real_write = os.write
    monkeypatch.setattr(
        store.os, "write", lambda fd, data: real_write(fd, bytes(data)[: max(1, len(data) // 3)])
    )
    path = tmp_path / "feedback.jsonl"
    for n in range(3):
        store.append_feedback(path, {"message": f"m{n}", "rating": "up", "question": "q" * 50})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["m0", "m1", "m2"]


def test_a_failed_feedback_write_leaves_no_half_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from page import store

    path = tmp_path / "feedback.jsonl"
    store.append_feedback(path, {"message": "m0", "rating": "up"})
    real_write = os.write
    calls = iter([10, 0])  # ten bytes, then a full disk: os.write returns 0

    def short(fd: int, data: Any) -> int:
        n = next(calls, 0)
        return real_write(fd, bytes(data)[:n]) if n else 0

    monkeypatch.setattr(store.os, "write", short)
    with pytest.raises(OSError, match="feedback"):
        store.append_feedback(path, {"message": "m1", "rating": "down"})
    monkeypatch.setattr(store.os, "write", real_write)
    store.append_feedback(path, {"message": "m2", "rating": "down"})
    assert [json.loads(line)["message"] for line in path.read_text().splitlines()] == ["m0", "m2"]


def test_odd_feedback_records_are_skipped(tmp_path: Path) -> None:
    from page.store import read_feedback

    path = tmp_path / "feedback.jsonl"
    good = {"message": "m1", "rating": "up", "question": "q", "answer": "a", "citations": [{"title": "T"}]}
    odd = [
        {"message": "m2", "rating": "up", "citations": "not-a-list"},
        {"message": "m3", "rating": "down", "citations": ["not-a-dict"]},
        {"message": "m4", "rating": "up", "question": {"not": "text"}},
        {"message": ["m5"], "rating": "up"},
        [1, 2],
    ]
    path.write_text("\n".join(json.dumps(r) for r in [good, *odd]) + "\n", encoding="utf-8")
    entries = read_feedback(path)
    assert [e["message"] for e in entries] == ["m1"]
    # what the ratings section reads of each entry never fails
    assert [", ".join(str(c.get("title", "")) for c in e.get("citations") or []) for e in entries] == ["T"]


# -- finding 14: the smaller ones -----------------------------------------------------------------------


@pytest.mark.parametrize("token", ["tökén", "tab\there", "emoji-🔑"])
def test_a_token_clients_cannot_send_is_refused_at_start_up(
    token: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mali_qa import cli, service
    from mali_qa.server.app import create_app

    with pytest.raises(ConfigError, match="MALI_QA_SERVER_TOKEN must be printable ASCII"):
        create_app(settings(server_token=token))
    monkeypatch.setattr(service, "default_settings", lambda: settings(server_token=token))
    assert cli.main(["serve", "--port", "8999"]) == cli.EXIT_ERROR
    assert "MALI_QA_SERVER_TOKEN must be printable ASCII" in capsys.readouterr().err


@pytest.mark.parametrize("top_k", [True, False, 2.0, "3"])
def test_top_k_must_be_a_whole_number_over_http(top_k: Any, fake_answers: dict[str, Any]) -> None:
    from mali_qa.server.app import create_app

    app = create_app(settings())
    for reply in (
        chat(app, stream=False, top_k=top_k),
        call(app, "POST", "/v1/ask", json={"question": "When?", "top_k": top_k}),
    ):
        assert assert_openai_error(reply, 400)["param"] == "top_k"
    assert chat(app, stream=False, top_k=3).status_code == 200


def test_the_sidebar_shows_the_model_name_without_backticks() -> None:
    from page.labels import engine_lines

    lines = engine_lines(settings(openai_base_url="http://127.0.0.1:8080/v1", chat_model="fake"))
    assert lines[0] == "Generative: fake" and not any("`" in line for line in lines)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_article_with_a_bom_is_read(tmp_path: Path, encoding: str) -> None:
    from mali_qa.ingest.corpus import read_folder

    folder = tmp_path / "articles"
    folder.mkdir()
    text = "France leaves Mali after nine years\n\nThe last French soldiers left Mali in August, Bamako said."
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    (folder / "wide.txt").write_bytes(bom + text.encode(encoding))
    corpus = read_folder(folder)
    assert not corpus.warnings, corpus.warnings
    assert [a.title for a in corpus.articles] == ["France leaves Mali after nine years"]
    assert "Bamako said" in corpus.articles[0].text
