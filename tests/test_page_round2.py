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
    for name in ("first_sight_batch6_learned.txt", "first_sight_batch21_learned.txt"):
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
    held_out = fit["cross_validated"]
    assert metrics[0] == ("Answers right / given", f"{held_out['precision']:.2f}")  # the three kinds first
    assert ("Answer accuracy", f"{held_out['answer_accuracy']:.2f}") in metrics[:6]
    first = metrics[6:12]  # batch 21 at first sight: answers right 57/77, accuracy 57/92, short 26/35
    assert ("Answers right / given", "0.74") in first and ("Answer accuracy", "0.62") in first
    assert ("Unanswerables answered", "0.25") in first and ("Short answer right", "0.74") in first
    shown = "\n".join(texts(at.caption))
    assert "batch 21" in shown and "never" in shown.lower()  # the newest held-out batch, said what it is
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


# --------------------------------------------------------------------------- conversations in SQLite


def test_saved_conversations_belong_to_their_browser(tmp_path: Path) -> None:
    from page.saved import SavedConversations, new_conversation_id, new_owner_secret

    from mali_qa.types import Answer, Citation, Passage

    mine, theirs = new_owner_secret(), new_owner_secret()
    store = SavedConversations(tmp_path)
    cid = new_conversation_id()
    answer = Answer(
        text="In August 2022. [1]",
        answered=True,
        citations=[Citation(source="a1", title="T", text="x", score=0.5, quote="x")],
        retrieved=[
            Passage(
                id="p", article_id="a1", title="T", text="x", start=0, end=1, sentence_scores=((0, 1, 0.5),)
            )
        ],
    )
    messages = [
        {"role": "user", "content": "When?", "id": "u"},
        {"role": "assistant", "content": "x", "id": "a", "answer": answer},
    ]
    store.put(cid, mine, messages)
    again = SavedConversations(tmp_path).get(cid, mine)  # a new process: read from the file
    assert again is not None and again[1]["answer"] == answer and again[0]["content"] == "When?"
    assert store.get(cid, theirs) is None and store.listing(theirs) == []  # an id alone opens nothing
    store.put(cid, theirs, [{"role": "user", "content": "overwrite", "id": "z"}])  # nor overwrites it
    assert store.get(cid, mine) == again
    store.rename(cid, theirs, "stolen")
    store.delete(cid, theirs)
    assert [(s.id, s.title) for s in store.listing(mine)] == [(cid, "When?")]
    store.rename(cid, mine, "  France   leaves ")
    assert store.listing(mine)[0].title == "France leaves"
    for bad in ("../x", "", "x" * 200):
        assert store.get(bad, mine) is None
    store.delete(cid, mine)
    assert store.get(cid, mine) is None and store.listing(mine) == []
    assert mine not in (tmp_path / "conversations.sqlite3").read_bytes().decode("latin-1")  # only its hash


def test_sidebar_lists_opens_renames_and_deletes_this_browsers_conversations(
    app_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from page import chat, history
    from page.markup import escape_markdown

    from test_app import FRANCE, WORLD_CUP, ask

    browser = {"secret": "a" * 43}
    monkeypatch.setattr(chat, "browser_owner", lambda: browser["secret"])
    monkeypatch.setattr(history, "browser_owner", lambda: browser["secret"])
    at = ask(start(), FRANCE)
    first = at.query_params["c"]
    next(b for b in at.button if b.label == "New conversation").click().run()
    at = ask(at, WORLD_CUP)
    listed = [b.label for b in at.sidebar.button if b.key and b.key.startswith("open-")]
    assert listed == [escape_markdown(WORLD_CUP), escape_markdown(FRANCE)]  # the latest first
    next(b for b in at.sidebar.button if b.key == f"open-{first}").click().run()
    assert at.query_params["c"] == first and at.chat_message[0].markdown[0].value.startswith(
        "When did France"
    )
    at.sidebar.text_input(key=f"title-{first}").set_value("France leaves").run()
    assert any(b.label == "France leaves" for b in at.sidebar.button)
    next(b for b in at.sidebar.button if b.key == f"delete-{first}").click().run()
    assert (
        not at.chat_message
        and len([b for b in at.sidebar.button if b.key and b.key.startswith("open-")]) == 1
    )
    # another browser: the link of this browser's conversation opens an empty chat, and its list is empty
    second = next(b.key for b in at.sidebar.button if b.key and b.key.startswith("open-"))[len("open-") :]
    browser["secret"] = "z" * 43
    other = start({"c": second})
    assert not other.chat_message and "c" not in other.query_params
    assert not [b for b in other.sidebar.button if b.key and b.key.startswith("open-")]


def test_visitors_see_counts_of_ratings_never_the_rated_questions(
    app_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 27, finding 8: a question rated by one visitor (with a name and a passport number) is not shown to
    another visitor of the Evaluation page; an admin sees it, everyone sees the counts."""
    from page.store import append_feedback, feedback_record

    from mali_qa.types import Answer

    secret = "Is Awa Traore, passport ML1234567, on the list?"
    answer = Answer(text="The articles don't say.", citations=[], answered=False)
    record = feedback_record(rating=0, question=secret, answer=answer, conversation="d" * 22, message_id="m1")
    append_feedback(Path(os.environ["MALI_QA_FEEDBACK_FILE"]), record)
    monkeypatch.setenv("MALI_QA_ADMIN", "off")
    _forget_everything()
    visitor = switch(start(), "evaluation")
    shown = " ".join(texts(visitor.caption) + texts(visitor.markdown))
    shown += " ".join(str(frame.value.to_numpy().tolist()) for frame in visitor.dataframe)
    assert "ML1234567" not in shown and "1 rated answer:" in shown
    monkeypatch.setenv("MALI_QA_ADMIN", "on")
    _forget_everything()
    admin = switch(start(), "evaluation")
    assert list(admin.dataframe[-1].value["Question"]) == [secret]
