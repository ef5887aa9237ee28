"""The `mali-qa` command: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def _run(args: list[str], settings: Any, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "MALI_QA_VECTORSTORE_DIR": str(settings.vectorstore_dir),
        "MALI_QA_SEEDS_DIR": str(settings.seeds_dir),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "mali_qa.cli", *args], capture_output=True, text=True, env=environ, timeout=120
    )


def test_ask_json(built_settings: Any) -> None:
    done = _run(["ask", "How many French soldiers were killed in Mali?", "--json"], built_settings)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["answered"] and "59" in data["text"] and data["citations"][0]["source"]


def test_ask_prints_the_quote_and_its_source(built_settings: Any) -> None:
    done = _run(["ask", "How many French soldiers were killed in Mali?"], built_settings)
    assert done.returncode == 0, done.stderr
    assert "59 French soldiers were killed" in done.stdout and "[1]" in done.stdout


def test_the_closest_passages_are_labelled_one_quote_a_line(capsys: Any) -> None:
    from mali_qa.cli import _print_answer
    from mali_qa.types import CLOSEST_PASSAGES, Answer, Citation

    cited = Citation(source="a", title="T", text="One. Two.", score=1.0, end=9)
    text = f"{CLOSEST_PASSAGES} One. [1] Two. [1]"
    _print_answer(Answer(text=text, answered=False, citations=[cited]), False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [CLOSEST_PASSAGES, "  One. [1]", "  Two. [1]"] and "OPENAI_BASE_URL" in lines[3]


def test_the_short_answer_when_sure_is_printed_first(capsys: Any) -> None:
    from mali_qa.cli import _print_answer
    from mali_qa.types import Answer, Citation

    cited = Citation(source="a", title="T", text="59 French soldiers were killed.", score=1.0, end=31)
    _print_answer(
        Answer(text="59 French soldiers were killed. [1]", answered=True, short="59", citations=[cited]),
        False,
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "59" and lines[2] == "59 French soldiers were killed. [1]"


def test_ask_prints_sources(built_settings: Any) -> None:
    done = _run(["ask", "Who are the Wagner Group in Mali?"], built_settings)
    assert done.returncode == 0 and "[1]" in done.stdout and "Prigozhin" in done.stdout


def test_bad_question_is_one_line_and_non_zero(built_settings: Any) -> None:
    done = _run(["ask", "   "], built_settings)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "question is empty" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_setting_is_one_line(built_settings: Any) -> None:
    done = _run(["ask", "When?"], built_settings, MALI_QA_TOP_K="many")
    assert done.returncode == 1 and "MALI_QA_TOP_K" in done.stderr and "Traceback" not in done.stderr


def test_ingest_reports_and_is_idempotent(built_settings: Any) -> None:
    done = _run(["ingest", "--quiet"], built_settings)
    assert done.returncode == 0 and "0 added" in done.stdout and "5 unchanged" in done.stdout


def test_ingest_of_a_missing_folder_fails_cleanly(built_settings: Any, tmp_path: Path) -> None:
    done = _run(["ingest", str(tmp_path / "nope"), "--quiet"], built_settings)
    assert done.returncode == 1 and "does not exist" in done.stderr


def test_chat_keeps_history(built_settings: Any) -> None:
    environ = {**os.environ, "MALI_QA_VECTORSTORE_DIR": str(built_settings.vectorstore_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "mali_qa.cli", "chat"],
        input="Who are the Wagner Group in Mali?\nAnd what happened to him?\n\n",
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert done.returncode == 0 and "killed" in done.stdout


@pytest.mark.parametrize(
    ("argv", "question", "top_k"),
    [
        (["ask", "-: what"], "-: what", None),
        (["ask", "--top-k", "3", "-5 degrees in Gao?"], "-5 degrees in Gao?", 3),
        (["ask", "--json", "--not-an-option"], "--not-an-option", None),
        (["ask", "--", "-x"], "-x", None),
        (["ask", "When did France leave Mali?", "--top-k=4"], "When did France leave Mali?", 4),
    ],
)
def test_a_question_that_starts_with_a_dash_is_a_question(argv: list[str], question: str, top_k: Any) -> None:
    """Found by the CLI fuzz: `mali-qa ask "-:"` failed on an unknown option instead of answering."""
    from mali_qa.cli import _question_as_text, build_parser

    args = build_parser().parse_args(_question_as_text(argv))
    assert args.question == question and args.top_k == top_k


def test_ask_reads_the_question_from_standard_input(built_settings: Any) -> None:
    """`echo "when did france leave mali" | mali-qa ask`: no question given, stdin a pipe."""
    environ = {
        **os.environ,
        "MALI_QA_VECTORSTORE_DIR": str(built_settings.vectorstore_dir),
        "MALI_QA_SEEDS_DIR": str(built_settings.seeds_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "mali_qa.cli", "ask", "--json"],
        input="when did france leave mali\n",
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["answered"] and "Mali" in data["text"] and data["citations"]


def test_ask_with_empty_standard_input_names_the_fix(built_settings: Any) -> None:
    environ = {**os.environ, "MALI_QA_VECTORSTORE_DIR": str(built_settings.vectorstore_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "mali_qa.cli", "ask"],
        input="",
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert done.returncode == 1 and 'mali-qa ask "' in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("exported", [False, True])
def test_first_ingest_says_once_that_the_bundled_model_is_prepared(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, exported: bool
) -> None:
    """Before the ONNX export exists, `mali-qa ingest` says what the first seconds are spent on (once)."""
    import mali_qa.cli as cli
    import mali_qa.ingest.write as write
    import mali_qa.store.minilm as minilm
    from mali_qa.config import Settings

    settings = Settings.from_env(env_file=os.devnull, cache_dir=tmp_path / "cache", embeddings="local")

    class Report:
        warnings: list[str] = []

        def summary(self) -> str:
            return "5 added"

    monkeypatch.setattr(cli, "_settings", lambda: settings)
    monkeypatch.setattr(write, "ingest", lambda *a, **k: Report())
    monkeypatch.setattr(minilm, "onnx_export_exists", lambda cache_dir: exported, raising=False)
    assert cli.main(["ingest"]) == 0
    err = capsys.readouterr().err
    assert err.count("preparing the bundled embedding model") == (0 if exported else 1)
