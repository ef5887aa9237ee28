"""Finding 7 of issue 12 and the boundary checks of finding 14: invalid Unicode (lone surrogates, bytes that
are not UTF-8) in questions, history, the CLI's arguments and chat lines; look-alike letters; `top_k` and
`settings` of the wrong type. Each is normalized or refused with a MaliQAError, never a traceback."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from typing import Any

import pytest

from mali_qa.config import Settings
from mali_qa.errors import ConfigError, InvalidQuestionError, MaliQAError
from mali_qa.sanitize import clean_input
from mali_qa.service import ask, validate_history, validate_question

QUESTION = "When did France leave Mali?"


def test_invalid_and_invisible_characters_are_dropped_from_a_question() -> None:
    settings = Settings.from_env(env_file=os.devnull)
    for raw in [
        "When did France \ud800leave Mali?",
        "When did\u200b France\u200d leave\ufeff Mali\u202e?",
        "When did France\x00 leave\x1b Mali\ufdd0?",
        "When did France leave Mali\U0010fffe?",
        "When did Fr\udcffance leave Mali\udcfe?",
        "When did ＦＲＡＮＣＥ leave Mali?",
    ]:
        cleaned = validate_question(raw, settings)
        assert cleaned.encode("utf-8") and cleaned.isprintable(), repr(cleaned)
        assert cleaned.replace("FRANCE", "France") == QUESTION, repr(cleaned)


def test_lookalike_letters_of_a_mixed_word_are_folded_but_russian_words_stay() -> None:
    assert clean_input("Who is in \u041cali?") == "Who is in Mali?"  # a Cyrillic М
    assert clean_input("Wagner is called \u0412\u0430\u0433\u043d\u0435\u0440") == (
        "Wagner is called \u0412\u0430\u0433\u043d\u0435\u0440"
    )


def test_a_question_of_surrogates_only_is_refused_with_the_fix() -> None:
    with pytest.raises(InvalidQuestionError, match="empty"):
        validate_question("\ud800\udfff\u200b", Settings.from_env(env_file=os.devnull))


def test_surrogates_in_history_are_dropped() -> None:
    turns = validate_history([{"role": "user", "content": "Who led \ud83d Wagner?"}])
    assert turns == [{"role": "user", "content": "Who led Wagner?"}]


@pytest.mark.parametrize(
    ("top_k", "message"),
    [("5", "top_k"), (5.5, "top_k"), (True, "top_k"), (0, "top_k"), (51, "top_k"), ([5], "top_k")],
)
def test_top_k_of_the_wrong_type_or_range_is_a_mali_qa_error(top_k: Any, message: str) -> None:
    with pytest.raises(InvalidQuestionError, match=message):
        ask(QUESTION, settings=Settings.from_env(env_file=os.devnull), top_k=top_k)


@pytest.mark.parametrize("settings", [{}, "offline", 3, object()])
def test_settings_of_the_wrong_type_is_a_mali_qa_error(settings: Any) -> None:
    with pytest.raises(ConfigError, match="mali_qa.Settings"):
        ask(QUESTION, settings=settings)


@pytest.mark.parametrize(
    ("field", "value", "variable"),
    [
        ("max_retries", -1, "MALI_QA_MAX_RETRIES"),
        ("timeout", -5.0, "MALI_QA_TIMEOUT"),
        ("timeout", "abc", "MALI_QA_TIMEOUT"),
        ("temperature", 9.0, "MALI_QA_TEMPERATURE"),
        ("top_k", 0, "MALI_QA_TOP_K"),
    ],
)
def test_settings_copied_without_validation_name_the_bad_setting(
    field: str, value: Any, variable: str
) -> None:
    """Finding 14: `MALI_QA_MAX_RETRIES=-1` reached the model client ("reply could not be read
    (AssertionError)"), and a bad timeout or temperature gave a notice blaming MALI_QA_CHAT_MODEL."""
    bad = Settings.from_env(env_file=os.devnull).model_copy(update={field: value})
    with pytest.raises(ConfigError, match=variable):
        ask(QUESTION, settings=bad)


# -- through the index -----------------------------------------------------------------------------------


def test_surrogates_in_a_question_or_its_history_still_answer(built_settings: Any) -> None:
    expected = ask(QUESTION, settings=built_settings).text
    for question in ["When did France \ud800leave Mali?", "\ud800 When did France leave Mali\udcff?"]:
        assert ask(question, settings=built_settings).text == expected, question
    assert ask("When did France leave Mali \ud800?", settings=built_settings).answered
    history = [
        {"role": "user", "content": "Who controlled the Wagner Group \udcff?"},
        {"role": "assistant", "content": "Yevgeny Prigozhin \ud800."},
    ]
    assert ask("And what happened to him?", history=history, settings=built_settings).answered


def test_a_lone_surrogate_gives_an_answer_or_a_mali_qa_error(built_settings: Any) -> None:
    with contextlib.suppress(MaliQAError):
        ask("\ud800 lone surrogate", settings=built_settings)


def _cli(args: list[bytes], settings: Any, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {
        **os.environ,
        "PYTHONIOENCODING": "utf-8:strict",  # as in a UTF-8 terminal
        "MALI_QA_VECTORSTORE_DIR": str(settings.vectorstore_dir),
        "MALI_QA_SEEDS_DIR": str(settings.seeds_dir),
        "MALI_QA_ENGINE": "offline",
    }
    return subprocess.run(
        [sys.executable.encode(), b"-m", b"mali_qa.cli", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=180,
    )


def test_cli_ask_with_bytes_that_are_not_utf8(built_settings: Any) -> None:
    done = _cli([b"ask", b"When did France \xffleave Mali?"], built_settings)
    assert done.returncode == 0, done.stderr
    assert ask(QUESTION, settings=built_settings).text in done.stdout.decode()  # after its short answer
    assert b"Traceback" not in done.stderr


def test_chat_survives_a_line_that_is_not_utf8(built_settings: Any) -> None:
    done = _cli([b"chat"], built_settings, stdin=b"\xff\xfe?\nWhen did France \xffleave Mali?\n/quit\n")
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr
    assert ask(QUESTION, settings=built_settings).text in done.stdout.decode()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MALI_QA_COLLECTION", "mali\x01qa"),
        ("MALI_QA_CHAT_MODEL", "gpt\x1b[31m"),
        ("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1\udcff"),  # a byte that is not UTF-8, as Python reads it
        ("OPENAI_API_KEY", "sk-\x00abc"),
    ],
)
def test_environment_values_that_are_not_text_name_their_variable(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "environ", {**os.environ, variable: value})
    with pytest.raises(ConfigError, match=variable) as caught:
        Settings.from_env(env_file=os.devnull)
    assert value not in str(caught.value)
