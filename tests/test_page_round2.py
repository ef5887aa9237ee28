"""The page, second round (issue 28), run headless with AppTest: the Evaluation page headlines the held-out and
first-sight figures and says which is which, its tables show no "None" and no emoji a browser may lack, the
sidebar offers written answers in offline mode, and conversations are kept in SQLite."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from test_app import ROOT, _forget_everything, app_env, start, switch, texts

__all__ = ["app_env"]  # the fixture, shared with test_app.py

pytestmark = pytest.mark.integration


def _eval_folder(tmp_path: Path) -> Path:
    """A copy of eval/'s report, cross-validated figures and one held-out batch's first-sight score."""
    folder = tmp_path / "eval"
    shutil.copytree(ROOT / "eval" / "report", folder / "report")
    (folder / "bank").mkdir()
    shutil.copy(ROOT / "eval" / "bank" / "fit_report.json", folder / "bank")
    (folder / "heldout").mkdir()
    for name in ("first_sight_batch6_learned.txt", "first_sight_batch18_learned.txt"):
        shutil.copy(ROOT / "eval" / "heldout" / name, folder / "heldout")
    return folder


def test_evaluation_page_headlines_held_out_and_first_sight_figures(
    app_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = _eval_folder(tmp_path)
    monkeypatch.setenv("MALI_QA_EVAL_REPORT_DIR", str(folder / "report"))
    _forget_everything()
    at = switch(start(), "evaluation")
    assert not at.exception
    headings = [h.value for h in at.subheader]
    held = next(i for i, h in enumerate(headings) if "held out" in h.lower())
    in_sample = next(i for i, h in enumerate(headings) if "in sample" in h.lower())
    assert held < in_sample  # the honest figures first
    fit = json.loads((folder / "bank" / "fit_report.json").read_text(encoding="utf-8"))
    metrics = [(m.label, m.value) for m in at.metric]
    assert metrics[0] == ("Answer accuracy", f"{fit['cross_validated']['answer_accuracy']:.2f}")
    assert ("Answer accuracy", "0.63") in metrics[:8]  # batch 18 at first sight: 46/73
    shown = "\n".join(texts(at.caption))
    assert "batch 18" in shown and "never" in shown.lower()  # the newest held-out batch, said what it is
    assert "eval/gold.jsonl" in shown.replace("\\", "") and "fitted on" in shown


def test_evaluation_tables_show_no_none_and_no_emoji_ratings(
    app_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from page.store import append_feedback, feedback_record

    from mali_qa.types import Answer

    folder = _eval_folder(tmp_path)
    monkeypatch.setenv("MALI_QA_EVAL_REPORT_DIR", str(folder / "report"))
    _forget_everything()
    feedback = Path(os.environ["MALI_QA_FEEDBACK_FILE"])
    answer = Answer(text="It left in August 2022.", citations=[], answered=True)
    record = feedback_record(
        rating=1, question="When?", answer=answer, conversation="c" * 22, message_id="m1"
    )
    append_feedback(feedback, record)
    at = switch(start(), "evaluation")
    assert any("1 rated answer:" in c for c in texts(at.caption))  # not "1 rated answers"
    for frame in at.dataframe:
        cells = [str(v) for v in frame.value.astype(object).to_numpy().ravel()]
        assert "None" not in cells and "nan" not in cells, frame.value
    ratings = list(at.dataframe[-1].value["Rating"])
    assert ratings == ["helpful"]  # words: a thumbs emoji is a missing-glyph box in Chromium's default fonts


def test_offline_sidebar_offers_written_answers(app_env: Any) -> None:
    sidebar = " ".join(texts(at_sidebar := start().sidebar.caption))
    assert at_sidebar
    assert "OPENAI\\_API\\_KEY" in sidebar or "OPENAI_API_KEY" in sidebar
    assert "OPENAI_BASE_URL" in sidebar.replace("\\", "") and "Ollama" in sidebar


def test_written_answers_hint_only_when_no_model_writes(tmp_path: Path) -> None:
    from page.labels import written_answers_hint

    from mali_qa.config import Settings

    offline = Settings.from_env(env_file=os.devnull, engine="offline")
    assert "MALI_QA_ENGINE=auto" in written_answers_hint(offline)
    local = Settings.from_env(env_file=os.devnull, engine="auto", openai_base_url="http://127.0.0.1:11434/v1")
    assert written_answers_hint(local) == ""
