"""The settings object: parsing, validation, secrets, and `.env.example` listing every variable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mali_qa.config import Secret, Settings, describe
from mali_qa.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_env_example_lists_every_variable_without_values() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    assigned = {
        line.split("=", 1)[0]: line.split("=", 1)[1]
        for line in lines
        if "=" in line and not line.startswith("#")
    }
    assert set(assigned) == {env for env, _, _ in describe()}
    assert all(value == "" for value in assigned.values())


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("MALI_QA_TOP_K=4\nMALI_QA_TEMPERATURE=0.5\n", encoding="utf-8")
    monkeypatch.setenv("MALI_QA_TOP_K", "7")
    settings = Settings.from_env(env_file=env)
    assert settings.top_k == 7 and settings.temperature == 0.5


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("MALI_QA_TOP_K", "many", "MALI_QA_TOP_K"),
        ("MALI_QA_TOP_K", "0", "between 1 and 50"),
        ("MALI_QA_ENGINE", "gpt", "offline"),
        ("MALI_QA_ENGINE", "openai", "OPENAI_API_KEY"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, message: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env_file=os.devnull)


def test_the_key_never_shows() -> None:
    settings = Settings(openai_api_key=Secret("sk-test-1234567890"))
    assert "sk-test" not in repr(settings) and "sk-test" not in str(settings.openai_api_key)
    assert settings.openai_api_key.get() == "sk-test-1234567890"


def test_engine_choice() -> None:
    assert not Settings().use_generative
    assert Settings(openai_base_url="http://127.0.0.1:9/v1").use_generative
    assert not Settings(openai_base_url="http://127.0.0.1:9/v1", engine="offline").use_generative
