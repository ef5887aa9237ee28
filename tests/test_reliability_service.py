"""Issue 27 (reliability, round 2) against a real index: model text with a lone surrogate over HTTP (finding
3), a model call that outlives its reader or its client (finding 4), a half-sent request (finding 14), and the
fuzz of the service that also draws the model's replies. Real `mali-qa serve` processes and a fake model
server on 127.0.0.1 where the finding needs them; each test failed on 949742d."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import SecretStr

from mali_qa import service as api
from mali_qa.answer import llm
from mali_qa.config import Settings
from servers import stop as stop_model
from test_generative import (  # noqa: F401 - fixtures
    HISTORY,
    KEY,
    QUESTION,
    Script,
    error,
    first_sentence,
    gen_settings,
    quoting,
    reply,
    serve,
)
from test_reliability_model import closed_within, drain, start_server
from test_server import Server
from test_server import start_server as start_service

pytestmark = pytest.mark.integration

SURROGATE = "\ud800"
#: A JSON body as a model server sends it: ASCII, lone surrogates as `\ud800` escapes (httpx's `json=` cannot).
JSON = {"content-type": "application/json"}
#: MALI_QA_TIMEOUT of the service under test: a model's whole reply is cut at twice this.
TIMEOUT = 6.0


def call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def strict_json(raw: bytes) -> Any:
    """JSON that is valid UTF-8 and holds no lone surrogate (Python's json accepts `\\ud800` escapes)."""
    data = json.loads(raw.decode("utf-8"))
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
    return data


def assert_clean(text: str) -> None:
    """No control character but tab and newline, no lone surrogate."""
    bad = [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t"]
    assert not bad, repr(text[:300])


def stream_events(raw: bytes) -> list[str]:
    return [line[6:] for line in raw.decode("utf-8").splitlines() if line.startswith("data: ")]


# -- finding 3: a lone surrogate in the model's reply or rewrite ------------------------------------------


def test_a_lone_surrogate_from_the_model_is_answered_in_json_and_frees_the_slot(
    serve: Callable[..., Script],  # noqa: F811
    gen_settings: Settings,  # noqa: F811
) -> None:
    from mali_qa.server.app import create_app

    withdrawal = reply(lambda ps: f"{first_sentence(ps[0])} {SURROGATE} in February [1].")
    rewritten = {  # the condensing call does not stream
        "id": "c2",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"When did {SURROGATE}Wagner arrive?"},
                "finish_reason": "stop",
            }
        ],
    }
    rewrite = lambda r: httpx.Response(200, content=json.dumps(rewritten).encode(), headers=JSON)  # noqa: E731
    script = serve(*[lambda r: (withdrawal if json.loads(r.content).get("stream") else rewrite)(r)] * 12)
    app = create_app(gen_settings.with_(server_max_concurrent=1))
    question = {"role": "user", "content": QUESTION}
    replies = [
        call(app, "POST", "/v1/ask", json={"question": QUESTION}),
        call(app, "POST", "/v1/chat/completions", json={"messages": [question]}),
        call(app, "POST", "/v1/chat/completions", json={"messages": [question], "stream": True}),
        call(app, "POST", "/v1/chat/completions", json={"messages": [question], "stream": True}),
        call(app, "POST", "/v1/ask", json={"question": "When did they arrive there?", "history": HISTORY}),
    ]
    for answer in replies:
        assert answer.status_code == 200, answer.text[:300]
    texts = [
        strict_json(replies[0].content)["text"],
        strict_json(replies[1].content)["choices"][0]["message"]["content"],
    ]
    for streamed in replies[2:4]:
        events = stream_events(streamed.content)
        assert events[-1] == "[DONE]" and json.loads(events[-2])["choices"][0]["finish_reason"] == "stop"
        texts.append(
            "".join(strict_json(e.encode())["choices"][0]["delta"].get("content") or "" for e in events[:-1])
        )
    for text in texts:
        assert_clean(text)
        assert "in February [1]" in text  # the model's answer, not an offline fallback
    assert len(script.requests) == 6  # one model call an answer, and the rewrite of the follow-up
    follow_up = strict_json(replies[4].content)
    assert follow_up["model"] == "test-model" and "Wagner arrive" in follow_up["query"]


# -- issue 25 item 5: tenacity's retries inside the deadline, cut short when the caller goes ---------------


def test_a_retry_after_past_the_deadline_is_not_waited_for(
    serve: Callable[..., Script],  # noqa: F811
    gen_settings: Settings,  # noqa: F811
) -> None:
    """Kept from the hand-written loop: a Retry-After that ends past the first-words deadline (5 s) ends the
    call at once, and the offline engine answers."""
    script = serve(error(503, headers={"retry-after": "30"}), reply(quoting(1)))
    start = time.monotonic()
    answer = api.ask(QUESTION, settings=gen_settings)
    assert time.monotonic() - start < 3.0 and len(script.requests) == 1
    assert answer.engine == "offline" and "HTTP 503" in answer.notice and "with no retry" in answer.notice


def test_a_caller_that_goes_away_cuts_the_wait_between_retries(
    serve: Callable[..., Script],  # noqa: F811
    gen_settings: Settings,  # noqa: F811
) -> None:
    script = serve(error(503, headers={"retry-after": "3"}), reply(quoting(1)))
    gone = threading.Event()
    threading.Timer(0.5, gone.set).start()
    token = llm.cancel_on.set(gone)
    start = time.monotonic()
    try:
        with pytest.raises(llm.Cancelled):
            api.ask(QUESTION, settings=gen_settings.with_(timeout=10.0))
    finally:
        llm.cancel_on.reset(token)
    assert time.monotonic() - start < 1.5
    time.sleep(3.0)
    assert len(script.requests) == 1  # the retry that was waiting never went out


# -- finding 4: the model call ends with its reader, and never reads past the deadline --------------------


@pytest.fixture
def dripping() -> Iterator[tuple[Any, str]]:
    """A model that streams one word every 0.2 s for ever, and says when a client closed its connection."""
    proc, url = start_server("drip", period=0.2)
    try:
        yield proc, url
    finally:
        stop_model(proc)


def test_an_abandoned_answer_stops_reading_the_model_at_the_deadline(
    built_settings: Settings, dripping: tuple[Any, str]
) -> None:
    """A reader that stops asking for pieces (a dropped client of a face) left the model's stream read to
    its end: here, for ever."""
    proc, url = dripping
    llm.forget_clients()
    settings = built_settings.with_(
        openai_base_url=url,
        chat_model="test-model",
        openai_api_key=SecretStr(KEY),
        timeout=1.0,
        max_retries=0,
    )
    items = api.ask_stream(QUESTION, settings=settings)
    assert isinstance(next(items), str)  # the model's words stream ... and nobody asks for more
    seconds = closed_within(proc, 6.0)
    items.close()
    llm.forget_clients()
    print(
        f"\nabandoned reader, MALI_QA_TIMEOUT=1: the model's connection closed {seconds} s after the request"
    )
    assert seconds is not None, "the model's stream was still read 6 s after the whole-wait deadline"
    assert seconds < 2 * 1.0 + 1.5  # the whole-wait deadline is twice MALI_QA_TIMEOUT


@pytest.fixture(scope="module")
def hostile(
    built_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Any, Path]]:
    """`mali-qa serve` (one answer at a time, MALI_QA_TIMEOUT=6) in front of a fake model that replays the
    JSON file it is given (the file the test writes before each request)."""
    work = tmp_path_factory.mktemp("hostile-model")
    script = work / "reply.json"
    script.write_text(json.dumps({"frames": [], "endless": True, "text": QUESTION}), encoding="utf-8")
    proc, url = start_server("replay", period=0.2, script=str(script))
    services = start_service(
        built_settings,
        work,
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=url,
        MALI_QA_CHAT_MODEL="test-model",
        MALI_QA_TIMEOUT=str(TIMEOUT),
        MALI_QA_MAX_RETRIES="0",
        MALI_QA_SERVER_MAX_CONCURRENT="1",
    )
    try:
        yield next(services), proc, script
    finally:
        services.close()  # stops the service by its process id
        stop_model(proc)


def write_reply(
    script: Path,
    frames: list[bytes] | None = None,
    *,
    endless: bool = False,
    word: str = "Wagner ",
    text: str = QUESTION,
) -> None:
    frames = frames or []
    body = {"frames": [f.decode("latin-1") for f in frames], "endless": endless, "word": word, "text": text}
    script.write_text(json.dumps(body), encoding="utf-8")


def answered_again(server: Server, within: float = 5.0) -> httpx.Response:
    """The offline answer to a question, retried while the one answer slot is still taken."""
    end = time.monotonic() + within
    while True:
        answer = server.ask("When did France leave Mali?", model="mali-qa-offline")
        if answer.status_code != 429 or time.monotonic() > end:
            return answer
        time.sleep(0.2)


def test_a_client_that_goes_away_stops_the_model_call(hostile: tuple[Server, Any, Path]) -> None:
    server, proc, script = hostile
    write_reply(script, endless=True)
    drain(proc)
    body = {"model": "test-model", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, timeout=30) as streamed:
        for line in streamed.iter_lines():
            if '"content": "Wagner' in line:
                break  # the model's first words arrived: the client leaves
    left = time.monotonic()
    seconds = closed_within(proc, 5.0)
    print(f"\nthe client left: the model's connection closed {time.monotonic() - left:.2f} s later")
    assert seconds is not None and seconds < 4.0, (
        f"the model was still read after the client left ({seconds})"
    )
    assert answered_again(server).status_code == 200  # and its answer slot is free again

    drain(proc)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.url}/v1/ask", json={"question": QUESTION, "model": "test-model"}, timeout=1.5)
    left = time.monotonic()
    seconds = closed_within(proc, 5.0)
    print(f"\nthe client left: the model's connection closed {time.monotonic() - left:.2f} s later")
    assert seconds is not None and seconds < 4.0, (
        f"the model was still read after the client left ({seconds})"
    )
    assert answered_again(server).status_code == 200


# -- finding 14: a half-sent request is closed -------------------------------------------------------------


@pytest.mark.parametrize("sent", [b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n", b""])
def test_a_half_sent_request_is_closed_by_the_server(hostile: tuple[Server, Any, Path], sent: bytes) -> None:
    """uvicorn held such a connection for over 75 s; the service closes it after READ_TIMEOUT_S (10 s)."""
    server = hostile[0]
    port = int(server.url.rsplit(":", 1)[1])
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(sent)
        try:
            left = sock.recv(1024)
        except TimeoutError:
            left = None
    seconds = time.monotonic() - start
    print(f"\nhalf-sent request {sent[:20]!r}: closed after {seconds:.2f} s")
    assert left == b"", f"the connection was still open after {seconds:.1f} s"
    assert 5 <= seconds <= 15


# -- the fuzz of the service, drawing the model's replies ------------------------------------------------

HOSTILE_TEXT = st.lists(
    st.one_of(
        st.characters(codec=None),  # every code point, lone surrogates included
        st.sampled_from(
            ["\x1b[2J", "\x1b]52;c;aGk=\x07", "\x00", "\x9b", "\u202e", "<script>", "[1]", "[99]", "\n"]
        ),
    ),
    max_size=40,
).map("".join)


def frames_for(pieces: list[str], kind: str) -> list[bytes]:
    """The stream a model sends: well-formed SSE of the pieces, garbage lines among them, or cut early."""

    def frame(delta: dict[str, str], reason: str | None = None) -> bytes:
        data = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}  # fmt: skip
        return f"data: {json.dumps(data)}\n\n".encode()  # ensure_ascii: surrogates travel as \ud800 escapes

    frames = [frame({"content": piece}) for piece in pieces]
    if kind == "endless":
        return frames  # then words for ever (the fake server's `endless`)
    if kind == "garbage":  # invalid SSE before each piece and after the last
        junk = [b"data: {not json\n\n", b"\xff\xfe\x00 :\n", b"event: x\n"]
        frames = [f for i, piece in enumerate(frames) for f in (junk[i % 3], piece)] + [junk[0]]
    if kind != "cut":
        frames.append(frame({}, "stop"))
    return [*frames, b"data: [DONE]\n\n"]


@hsettings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(HOSTILE_TEXT, max_size=6),
    kind=st.sampled_from(
        ["sse", "sse", "sse", "garbage", "garbage", "cut", "endless"]
    ),  # endless: 2 x TIMEOUT
    endpoint=st.sampled_from(["ask", "chat", "stream"]),
    rewrite=st.one_of(st.none(), HOSTILE_TEXT),
)
def test_any_model_reply_gets_an_answer_or_an_openai_shaped_error(
    hostile: tuple[Server, Any, Path], pieces: list[str], kind: str, endpoint: str, rewrite: str | None
) -> None:
    """Whatever the model streams (surrogates, terminal controls, markup, invalid SSE, a stream without end)
    and whatever it rewrites a follow-up to, the client gets a valid answer or an OpenAI error, in time."""
    server, _, script = hostile
    # an endless stream of long words runs into MAX_REPLY_CHARS at once (the deadline has tests of its own)
    endless = kind == "endless"
    write_reply(
        script, frames_for(pieces, kind), endless=endless, word="Wagner arrived " * 100, text=rewrite or ""
    )
    history = HISTORY if rewrite is not None else []
    messages = [*history, {"role": "user", "content": QUESTION}]
    start = time.monotonic()
    if endpoint == "ask":
        answer = httpx.post(
            f"{server.url}/v1/ask", json={"question": QUESTION, "history": history}, timeout=60
        )
    else:
        body = {"model": "test-model", "messages": messages, "stream": endpoint == "stream"}
        answer = httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=60)
    assert time.monotonic() - start < 2 * TIMEOUT + 10
    assert answer.status_code == 200, answer.text[:300]
    if endpoint == "stream":
        events = stream_events(answer.content)
        assert events[-1] == "[DONE]"
        chunks = [strict_json(e.encode()) for e in events[:-1]]
        last = chunks[-1]
        assert last["choices"][0]["finish_reason"] == "stop" and isinstance(last["unsupported"], list)
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        citations = last["citations"]
    else:
        data = strict_json(answer.content)
        text = data["text"] if endpoint == "ask" else data["choices"][0]["message"]["content"]
        citations = data["citations"]
    assert_clean(text)
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
    assert markers <= set(range(1, len(citations) + 1))


def test_after_the_fuzz_every_answer_slot_is_free(hostile: tuple[Server, Any, Path]) -> None:
    assert answered_again(hostile[0], within=2 * TIMEOUT).status_code == 200
