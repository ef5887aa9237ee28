"""The CLI findings of issue 12 (14: closed pipe, full disk, a file as the folder, `--quiet` still printing
bm25s progress and DEBUG lines) and the CLI part of issue 13: `chat` commands, quotes printed once, and an
ingest on a fresh clone printing only its own progress and summary."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

QUESTION = "When did France leave Mali?"


def env_for(settings: Any, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MALI_QA_VECTORSTORE_DIR": str(settings.vectorstore_dir),
        "MALI_QA_SEEDS_DIR": str(settings.seeds_dir),
        "MALI_QA_ENGINE": "offline",
        **extra,
    }


def cli(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mali_qa.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_closed_pipe_exits_quietly(built_settings: Any) -> None:
    """`mali-qa ask … | head -c 10` (the reader gone before the answer is written) gave a traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mali_qa.cli", "ask", QUESTION],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env_for(built_settings),
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader exits at once
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141, err
    assert err == "", err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_disk_is_one_line(built_settings: Any) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "mali_qa.cli", "ask", QUESTION],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env_for(built_settings),
            timeout=300,
        )
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "No space left on device" in done.stderr and "Traceback" not in done.stderr


def test_a_file_passed_as_the_folder_is_named_as_a_file(built_settings: Any, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    done = cli(["ingest", str(tmp_path / "notes.txt"), "--quiet"], env_for(built_settings))
    assert done.returncode == 1 and "is a file, not a folder" in done.stderr, done.stderr


def test_quiet_ingest_prints_its_summary_only(built_settings: Any, tmp_path: Path) -> None:
    """`--quiet` still printed bm25s's "Finding newlines" bar and a DEBUG line."""
    seeds = tmp_path / "seeds"
    shutil.copytree(built_settings.seeds_dir, seeds)
    (seeds / "extra.txt").write_text(
        "Extra headline on Gao\n\nA convoy reached Gao on Monday after a long road."
    )
    env = env_for(
        built_settings, MALI_QA_VECTORSTORE_DIR=str(tmp_path / "store"), MALI_QA_SEEDS_DIR=str(seeds)
    )
    done = cli(["ingest", "--quiet"], env)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.startswith("6 articles") and done.stdout.count("\n") == 1
    (seeds / "extra.txt").unlink()
    done = cli(["ingest"], env)
    assert done.returncode == 0 and "1 removed" in done.stdout
    assert "DEBUG" not in done.stderr and "Finding newlines" not in done.stderr, done.stderr


@pytest.mark.slow
def test_ingest_on_a_fresh_clone_prints_only_its_progress_and_summary(
    built_settings: Any, tmp_path: Path
) -> None:
    """A fresh model cache: the ONNX export used to print torch's TracerWarnings and a weights bar."""
    env = env_for(
        built_settings,
        MALI_QA_VECTORSTORE_DIR=str(tmp_path / "store"),
        MALI_QA_CACHE_DIR=str(tmp_path / "cache"),
    )
    done = cli(["ingest"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("5 articles") and done.stdout.count("\n") == 1
    leftover = done.stderr.replace("\r", "\n").splitlines()
    preparing = [line for line in leftover if line.startswith("preparing the bundled embedding model")]
    assert len(preparing) == 1, done.stderr  # said once while the model is exported (issue 28, item 7)
    assert all(not line.strip() or line.startswith("indexing") or line in preparing for line in leftover), (
        done.stderr
    )


def test_ask_prints_each_quote_with_one_pair_of_quotation_marks(built_settings: Any) -> None:
    done = cli(["ask", QUESTION], env_for(built_settings))
    assert done.returncode == 0, done.stderr
    quotes = [line.strip() for line in done.stdout.splitlines() if line.startswith("    ")]
    assert quotes and not any(q.startswith(("““", '“"', '"“')) for q in quotes), quotes


def test_chat_commands(built_settings: Any) -> None:
    lines = [
        "/help",
        "",
        "Who controlled the Wagner Group?",
        "",
        "/new",
        "n",  # kept
        "And what happened to him?",
        "/new",
        "y",  # forgotten
        "/bogus",
        "/quit",
        "never asked",
    ]
    done = cli(["chat"], env_for(built_settings), stdin="\n".join(lines) + "\n")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    out = done.stdout
    assert "/new" in out and "/quit" in out  # the help
    assert "Kept the conversation." in out and "New conversation." in out
    assert "unknown command '/bogus'" in out and "never asked" not in out
    assert out.count("you> ") == 9  # empty lines were skipped, not the end; /quit ended it


def test_chat_ends_at_ctrl_d(built_settings: Any) -> None:
    done = cli(["chat"], env_for(built_settings), stdin="Who controlled the Wagner Group?\n")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout.count("you> ") == 2 and done.stdout.endswith("you> \n")  # answered, then Ctrl-D
