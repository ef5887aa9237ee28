"""The settings object: parsing, validation, secrets, and the settings tables and `.env.example` listing every variable."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import SecretStr

from mali_qa.config import Settings, describe, project_root
from mali_qa.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-test-1234567890"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No mali-qa variable of the developer's shell leaks into these tests (nor does their `.env`: see `env_file`)."""
    for env, _, _ in describe():
        monkeypatch.delenv(env, raising=False)


def settings(**overrides: object) -> Settings:
    return Settings.from_env(env_file=os.devnull, **overrides)


def table_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("settings_table", ROOT / "scripts" / "settings_table.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_env_example_lists_every_variable_without_values() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assigned = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    assert set(assigned) == {env for env, _, _ in describe()}
    assert all(value == "" for value in assigned.values())
    assert text == table_script().env_example(), "run scripts/settings_table.py --write"


def test_configuration_table_is_describe() -> None:
    document = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert document == table_script().document_with_table(document), "run scripts/settings_table.py --write"


def test_readme_short_table_names_real_settings_with_their_defaults() -> None:
    """The README's table of the most used settings is written by hand: each variable exists, with its default."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.partition("## Configuration")[2].partition("\n## ")[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    defaults = {env: default or "(empty)" for env, default, _ in describe()}
    assert len(rows) >= 5
    for variables, default in rows:
        names = [name.strip(" `") for name in variables.split(",")]
        values = [value.strip() for value in default.split(",")] if len(names) > 1 else [default.strip()]
        values = values * len(names) if len(values) == 1 else values
        assert len(values) == len(names), f"README row {variables}: one default, or one per variable"
        for name, value in zip(names, values, strict=True):
            assert name in defaults, f"README names {name}, which is not a setting"
            assert value == defaults[name], (
                f"README gives {name} the default {value}, the code {defaults[name]}"
            )


def test_describe_covers_every_field_with_its_variable() -> None:
    rows = {env: (default, doc) for env, default, doc in describe()}
    assert len(rows) == len(Settings.model_fields)
    assert rows["MALI_QA_TOP_K"] == ("14", "Passages retrieved per question (1-50)")
    assert rows["OPENAI_API_KEY"][0] == "" and rows["CHROMA_PORT"][0] == "8000"
    assert rows["MALI_QA_SEEDS_DIR"][0] == "seeds/" and rows["MALI_QA_EVAL_REPORT_DIR"][0] == "eval/report/"
    assert all(doc for _, doc in rows.values())


def test_defaults() -> None:
    s = settings()
    assert (s.top_k, s.engine, s.embeddings, s.chroma_port, s.debug) == (14, "auto", "local", 8000, False)
    assert s.seeds_dir == project_root() / "seeds"
    assert s.eval_report_dir == project_root() / "eval" / "report"
    assert s.openai_api_key.get_secret_value() == ""


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "# a comment\nMALI_QA_TOP_K=4\nMALI_QA_TEMPERATURE=0.5\nMALI_QA_EVAL_REPORT_DIR=~/reports\n"
        "MALI_QA_CHAT_MODEL=\nSOME_OTHER_TOOL_TOKEN=abc\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("MALI_QA_TOP_K", "7")
    s = Settings.from_env(env_file=env)
    assert s.top_k == 7 and s.temperature == 0.5
    assert s.eval_report_dir == Path.home() / "reports"
    assert s.chat_model == "gpt-4.1-mini"  # empty counts as unset; unrelated variables in .env are ignored


def test_empty_environment_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALI_QA_TOP_K", "")
    monkeypatch.setenv("MALI_QA_COLLECTION", "   ")
    assert settings().top_k == 14 and settings().collection == "mali_qa"


def test_overrides_win_and_by_field_name() -> None:
    assert Settings(_env_file=os.devnull, top_k=5).top_k == 5
    assert settings(top_k=3, engine="offline").top_k == 3


@pytest.mark.parametrize(
    ("value", "ok"), [("1", True), ("50", True), ("0", False), ("51", False), ("-3", False)]
)
def test_top_k_bounds(monkeypatch: pytest.MonkeyPatch, value: str, ok: bool) -> None:
    monkeypatch.setenv("MALI_QA_TOP_K", value)
    if ok:
        assert settings().top_k == int(value)
    else:
        with pytest.raises(ConfigError, match=r"MALI_QA_TOP_K must be between 1 and 50.*fix it in \.env"):
            settings()


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        (
            "MALI_QA_TIMEOUT",
            "abc",
            "MALI_QA_TIMEOUT has the value 'abc', which is not a valid number: fix it in .env",
        ),
        ("MALI_QA_TOP_K", "many", "MALI_QA_TOP_K has the value 'many', which is not a whole number"),
        ("MALI_QA_TEMPERATURE", "3", "MALI_QA_TEMPERATURE must be between 0 and 2"),
        ("MALI_QA_MAX_RETRIES", "two", "MALI_QA_MAX_RETRIES has the value 'two'"),
        ("MALI_QA_MAX_QUESTION_CHARS", "5", "MALI_QA_MAX_QUESTION_CHARS must be between 10"),
        ("MALI_QA_EMBED_THREADS", "0", "MALI_QA_EMBED_THREADS must be between 1"),
        ("CHROMA_PORT", "http", "CHROMA_PORT has the value 'http'"),
        ("CHROMA_PORT", "70000", "CHROMA_PORT must be between 1 and 65535"),
        ("MALI_QA_DEBUG", "maybe", "MALI_QA_DEBUG has the value 'maybe', which is not true or false"),
        ("MALI_QA_ENGINE", "gpt", "MALI_QA_ENGINE must be auto, offline or openai, got 'gpt'"),
        ("MALI_QA_EMBEDDINGS", "bert", "MALI_QA_EMBEDDINGS must be local or openai"),
        ("MALI_QA_ENGINE", "openai", "MALI_QA_ENGINE=openai needs OPENAI_API_KEY or OPENAI_BASE_URL"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, message: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as caught:
        settings()
    assert message in str(caught.value) and str(caught.value).endswith(".env")


def test_bad_values_in_dotenv_and_overrides_are_config_errors(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("MALI_QA_TIMEOUT=soon\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="MALI_QA_TIMEOUT has the value 'soon'"):
        Settings.from_env(env_file=env)
    with pytest.raises(ConfigError, match="CHROMA_PORT"):
        settings(chroma_port="x")
    with pytest.raises(ConfigError, match="tpo_k is not a mali-qa setting"):
        settings(tpo_k=3)


def test_the_key_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(openai_api_key=KEY)
    assert isinstance(s.openai_api_key, SecretStr)
    for shown in (repr(s), str(s), repr(s.openai_api_key), str(s.openai_api_key), f"{s.openai_api_key}"):
        assert KEY not in shown
    assert s.openai_api_key.get_secret_value() == KEY
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("MALI_QA_TOP_K", "zero")
    with pytest.raises(ConfigError) as caught:
        settings()
    assert KEY not in str(caught.value)


def test_hashable_frozen_and_with_() -> None:
    s = settings()
    assert {s: 1}[settings()] == 1 and hash(s.with_(openai_api_key=KEY)) != hash(s)
    with pytest.raises(ValueError):
        setattr(s, "top_k", 3)  # noqa: B010
    changed = s.with_(top_k=3)
    assert changed.top_k == 3 and s.top_k == 14
    with pytest.raises(ConfigError, match="MALI_QA_TOP_K"):
        s.with_(top_k=0)


def test_engine_choice() -> None:
    assert not settings().use_generative and not settings().generative_configured
    assert settings(openai_api_key=KEY).use_generative
    assert settings(openai_base_url="http://127.0.0.1:9/v1").use_generative
    assert not settings(openai_base_url="http://127.0.0.1:9/v1", engine="offline").use_generative
    assert settings(engine="openai", openai_base_url="http://127.0.0.1:9/v1").use_generative
