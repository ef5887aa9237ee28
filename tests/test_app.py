"""The Streamlit page, run headless with AppTest on a real index built from the seeds in a temp folder, and
its pure parts (page/markup.py, page/labels.py, page/conversation.py, page/store.py, page/engine.py) alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from page import chat, engine, history
from page.conversation import closest_passages, history_for
from page.display import (
    admin_enabled,
    by_type_rows,
    demote_headings,
    hide_paths,
    plain_sentence,
    report_section,
    report_time,
    short_location,
    suggest_topics,
)
from page.labels import copy_text, source_heading
from page.markup import (
    PASSAGE_STYLE,
    QUOTE_COLORS,
    QUOTE_STYLE,
    answer_html,
    article_html_for_citation,
    card_html,
    cited_sentences,
    copy_button_html,
    escape_markdown,
    highlight_html,
    passage_html,
    search_html,
    with_context,
)
from page.store import append_feedback, feedback_record, read_feedback
from streamlit.testing.v1 import AppTest

import mali_qa
from mali_qa import IndexUnavailableError
from mali_qa.library import get_article
from mali_qa.types import Answer, Citation, Passage

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "page" / "main.py")
FRANCE = "When did France leave Mali?"
WORLD_CUP = "Who won the 2022 FIFA World Cup?"
QUOTE_LIGHT = QUOTE_COLORS["light"][0]
BROWSER = "b" * 43  # a browser's secret, as page.saved makes them


def _forget_everything() -> None:
    import streamlit as st

    from mali_qa.service import reset

    st.cache_resource.clear()
    engine.forget()
    reset()


@pytest.fixture
def app_env(built_settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """Environment so that the page's settings read the temp index, never the repo's."""
    monkeypatch.setenv("MALI_QA_VECTORSTORE_DIR", str(built_settings.vectorstore_dir))
    monkeypatch.setenv("MALI_QA_SEEDS_DIR", str(built_settings.seeds_dir))
    monkeypatch.setenv("MALI_QA_ENGINE", "offline")
    monkeypatch.setenv("MALI_QA_EVAL_REPORT_DIR", str(tmp_path / "no-report"))
    monkeypatch.setenv("MALI_QA_FEEDBACK_FILE", str(tmp_path / "feedback" / "feedback.jsonl"))
    monkeypatch.setenv("MALI_QA_ADMIN", "on")
    monkeypatch.setenv("MALI_QA_CONVERSATIONS_DIR", str(tmp_path / "conversations"))
    # AppTest sends no cookies: every session is the same browser (tests/test_page_round2.py varies it)
    monkeypatch.setattr(chat, "browser_owner", lambda: BROWSER)
    monkeypatch.setattr(history, "browser_owner", lambda: BROWSER)
    _forget_everything()
    yield built_settings
    _forget_everything()


def start(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def last_reply(at: AppTest) -> Any:
    reply = at.chat_message[-1]
    assert reply.name == "assistant"
    return reply


def texts(elements: Any) -> list[str]:
    return [e.value for e in elements]


def everything_shown(at: AppTest) -> str:
    parts = texts(at.markdown) + texts(at.caption) + texts(at.error) + texts(at.info) + texts(at.warning)
    parts += texts(at.success) + [b.label for b in at.button] + [e.label for e in at.expander]
    parts += [str(getattr(b.proto, "help", "")) for b in at.button]
    return "\n".join(parts)


def switch(at: AppTest, url_path: str) -> AppTest:
    # AppTest.switch_page only knows file pages; an st.Page made from a function is keyed by its url_path.
    from streamlit.util import calc_hash

    at._page_hash = calc_hash(url_path)
    return at.run()


def scripted(answer: Answer) -> Any:
    """An ask_stream that streams `answer.text` then yields `answer`."""

    def fake(question: str, **kwargs: Any) -> Any:
        yield answer.text
        yield answer

    return fake


# --------------------------------------------------------------------------- the chat page


def test_empty_chat_shows_examples_engine_and_index(app_env: Any) -> None:
    at = start()
    labels = [b.label for b in at.button]
    assert FRANCE in labels and "Why are Russian soldiers in Timbuktu?" in labels
    assert not at.chat_message
    sidebar = " ".join(texts(at.sidebar.markdown) + texts(at.sidebar.caption))
    assert "Offline" in sidebar
    assert "**5** articles" in sidebar and "passages" in sidebar
    assert at.sidebar.slider[0].value == app_env.top_k
    # the chat box caps a question at the limit; "New conversation" sits beside it, off until there is one
    assert at.chat_input[0].proto.max_chars == app_env.max_question_chars
    new = next(b for b in at.button if b.label == "New conversation")
    assert new.disabled


def test_question_streams_an_answer_with_linked_markers_and_sources(app_env: Any) -> None:
    at = ask(start(), FRANCE)
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    reply = last_reply(at)
    message = at.session_state["messages"][-1]
    answer = message["answer"]
    assert answer.answered and answer.citations
    body = next(m for m in texts(reply.markdown) if "mq-cite" in m)  # the answer (a short answer may lead)
    key = f"src-{message['id']}-1"
    assert f'<a class="mq-cite" href="#{key}" data-card="{key}"' in body  # [1] links to its card
    labels = [e.label for e in reply.expander]
    assert (
        labels[0].startswith("\\[1\\] ") and escape_markdown(answer.citations[0].title.strip()) in labels[0]
    )
    assert any("<mark" in m and QUOTE_LIGHT in m for m in texts(reply.markdown))  # the quote, highlighted
    assert any("Read the whole article" in label for label in labels)
    assert len(reply.feedback) == 1  # thumbs up/down
    assert any('class="mq-copy"' in m for m in texts(reply.markdown))  # the copy button
    assert not next(b for b in at.button if b.label == "New conversation").disabled


def test_source_cards_show_no_placeholder_date_and_no_spam_outlet(app_env: Any) -> None:
    at = ask(start(), "How many French soldiers were killed in Mali?")
    labels = [e.label for e in last_reply(at).expander if e.label.startswith("\\[")]
    assert labels and all("Kig News" not in label for label in labels)
    assert not any("date not given" in label for label in labels)  # no seed states a date: none is shown


def test_example_question_button_asks_it(app_env: Any) -> None:
    at = start()
    next(b for b in at.button if b.label == FRANCE).click().run()
    assert not at.exception
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert at.chat_message[0].markdown[0].value == escape_markdown(FRANCE)
    assert at.session_state["messages"][-1]["answer"].answered
    assert FRANCE not in [b.label for b in at.main.button]  # the examples are gone once the chat has started


def test_follow_up_passes_the_conversation(app_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    real = mali_qa.ask_stream

    def spy(question: str, **kwargs: Any) -> Any:
        calls.append({"question": question, **kwargs})
        return real(question, **kwargs)

    monkeypatch.setattr(mali_qa, "ask_stream", spy)
    at = ask(start(), FRANCE)
    first_answer = at.session_state["messages"][-1]["content"]
    at = ask(at, "Why did they leave?")
    assert calls[0]["history"] == []
    assert calls[1]["history"] == [
        {"role": "user", "content": FRANCE},
        {"role": "assistant", "content": first_answer},
    ]
    assert calls[1]["top_k"] == app_env.top_k
    assert len(at.chat_message) == 4
    follow_up = at.session_state["messages"][-1]["answer"]
    assert "France" in follow_up.query  # the follow-up was read in the light of the first question


def test_abstention_message_first_then_suggestions_then_closest_passages_collapsed(app_env: Any) -> None:
    at = ask(start(), WORLD_CUP)
    reply = last_reply(at)
    answer = at.session_state["messages"][-1]["answer"]
    assert answer.answered is False
    assert "don't say" in reply.info[0].value
    assert not any("don't say" in m for m in texts(reply.markdown))  # said once, in the message box
    suggestions = [b.label for b in reply.button]
    assert 2 <= len(suggestions) <= 3 and all(
        s.startswith("What do the articles say about") for s in suggestions
    )
    closest = next(e for e in reply.expander if e.label.startswith("Closest passages"))
    assert closest.proto.expanded is False
    assert any(escape_markdown(answer.retrieved[0].title) in m for m in texts(closest.markdown))
    # a suggestion is a question the articles answer
    next(b for b in reply.button if b.label == suggestions[0]).click().run()
    assert not at.exception
    assert at.chat_message[-2].markdown[0].value == escape_markdown(suggestions[0])
    assert at.session_state["messages"][-1]["answer"].answered


def test_short_answer_is_bold_above_the_quotes(app_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    passage = "France said its last soldiers left Mali on 15 August 2022, the military said."
    citation = Citation(
        source="002_07d3930ec7cbf04e",
        title="Last French troops leave Mali",
        text=passage,
        score=1.0,
        quote=passage,
        start=0,
        end=len(passage),
        quote_start=0,
        quote_end=len(passage),
        answer_start=passage.index("15 August"),
        answer_end=passage.index("15 August") + len("15 August 2022"),
    )
    with_short = Answer(text=f"{passage} [1]", answered=True, citations=[citation], short="15 August 2022")
    at = start()
    monkeypatch.setattr(mali_qa, "ask_stream", scripted(with_short))
    reply = last_reply(ask(at, FRANCE))
    markdown = texts(reply.markdown)
    assert markdown[0] == "**15 August 2022**"  # first, in bold, above the quoted answer
    assert "mq-answer" in markdown[1]
    assert any("<strong>15 August 2022</strong>" in m for m in markdown)  # and bold inside the card
    at.run()  # the history re-renders the same way
    assert texts(last_reply(at).markdown)[0] == "**15 August 2022**"

    without = Answer(text=f"{passage} [1]", answered=True, citations=[citation], short="")
    monkeypatch.setattr(mali_qa, "ask_stream", scripted(without))
    reply = last_reply(ask(at, FRANCE))
    assert "mq-answer" in texts(reply.markdown)[0]  # no empty bold line


def test_source_opens_the_whole_article_with_the_passage_marked(app_env: Any) -> None:
    at = ask(start(), FRANCE)
    message = at.session_state["messages"][-1]
    citation = message["answer"].citations[0]
    key = f"article-{message['id']}-1"
    assert not any("border-left:3px" in m for m in texts(at.markdown))  # closed: the article isn't rendered
    at.session_state[key] = True
    at.run()
    assert not at.exception
    whole = [m for m in texts(at.markdown) if "border-left:3px" in m]
    assert len(whole) == 1
    assert whole[0].count(QUOTE_STYLE) == 1  # the cited sentence, highlighted in place
    if citation.text.strip() != citation.quote.strip():
        assert whole[0].count(PASSAGE_STYLE) >= 1  # the rest of the cited passage, marked
    article = get_article(citation.source, app_env)
    assert len(whole[0]) > len(article.text) * 0.9  # the whole article, not only the passage


def test_new_conversation_clears_the_chat_and_the_url(app_env: Any) -> None:
    at = ask(start(), FRANCE)
    first = at.query_params["c"]
    next(b for b in at.button if b.label == "New conversation").click().run()
    assert not at.chat_message and at.session_state["messages"] == []
    assert FRANCE in [b.label for b in at.button]
    assert "c" not in at.query_params
    at = ask(at, FRANCE)
    assert at.query_params["c"] != first


def test_conversation_survives_a_reload(app_env: Any) -> None:
    at = ask(ask(start(), FRANCE), WORLD_CUP)
    conversation = at.query_params["c"]
    assert isinstance(conversation, str) and len(conversation) >= 16
    again = start({"c": conversation})  # a reload: a new session with the same URL
    assert [m.name for m in again.chat_message] == ["user", "assistant", "user", "assistant"]
    assert again.chat_message[0].markdown[0].value == escape_markdown(FRANCE)
    assert any("mq-cite" in m.value for m in again.chat_message[1].markdown)
    assert "don't say" in again.chat_message[3].info[0].value
    assert len(history_for(again.session_state["messages"])) == 4  # the next question's history
    for bad in ("nope", "../../etc/passwd", "x" * 200):  # unknown or malformed ids start afresh
        assert not start({"c": bad}).chat_message


def test_thumbs_are_stored_with_question_answer_and_citations(app_env: Any, tmp_path: Path) -> None:
    at = ask(start(), FRANCE)
    last_reply(at).feedback[0].set_value(1).run()
    assert not at.exception
    at = ask(at, WORLD_CUP)
    last_reply(at).feedback[0].set_value(0).run()
    lines = (tmp_path / "feedback" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["rating"] == "up" and first["question"] == FRANCE
    assert first["answer"] == at.session_state["messages"][1]["answer"].text
    assert first["citations"][0]["n"] == 1 and first["citations"][0]["quote"]
    assert second["rating"] == "down" and second["question"] == WORLD_CUP and second["answered"] is False
    # the rating comes back after a reload, and the Evaluation page lists both
    again = start({"c": at.query_params["c"]})
    assert [f.value for f in again.feedback] == [1, 0]
    page = switch(again, "evaluation")
    table = page.dataframe[-1].value
    assert list(table["Question"]) == [WORLD_CUP, FRANCE]  # newest first
    assert any("2 rated answers: 1 helpful" in c for c in texts(page.caption))


def test_package_error_is_a_plain_sentence_with_its_fix(
    app_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = start()

    def broken(question: str, **kwargs: Any) -> Any:
        raise IndexUnavailableError("no finished index in /srv/data/x: run `mali-qa ingest`")
        yield  # pragma: no cover

    monkeypatch.setattr(mali_qa, "ask_stream", broken)
    at = ask(at, FRANCE)
    assert texts(at.error) == ["No finished index in x: run `mali-qa ingest`."]
    assert at.session_state["messages"][-1]["error"]
    # a failed turn is not sent as history with the next question
    assert history_for(at.session_state["messages"]) == []


def test_unexpected_error_is_one_line_not_a_traceback(app_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start()

    def broken(question: str, **kwargs: Any) -> Any:
        yield "Partial "
        raise RuntimeError("secret internals")

    monkeypatch.setattr(mali_qa, "ask_stream", broken)
    at = ask(at, FRANCE)
    errors = texts(at.error)
    assert errors[0] == "Something went wrong while answering. Please try again in a moment."
    assert all("secret internals" not in e for e in errors)
    assert not at.exception


def test_broken_index_is_reported(app_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    store = tmp_path / "broken-store"
    store.mkdir()
    (store / "manifest.json").write_text(
        json.dumps({"embed_model": "local:all-MiniLM-L6-v2", "collection": "mali_qa", "articles": 1}),
        encoding="utf-8",
    )
    monkeypatch.setenv("MALI_QA_VECTORSTORE_DIR", str(store))
    at = start()
    assert at.error and all("index" in e and "mali-qa" in e for e in texts(at.error))
    assert str(tmp_path) not in everything_shown(at)  # no absolute server path
    at = ask(at, FRANCE)
    assert "index" in at.error[-1].value and not at.exception


def test_invalid_and_long_questions_are_plain_sentences(
    app_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = ask(start(), "???")
    assert any(e.startswith("The question has no letters or digits") for e in texts(at.error))
    monkeypatch.setenv("MALI_QA_MAX_QUESTION_CHARS", "20")
    _forget_everything()
    at = start()
    assert at.chat_input[0].proto.max_chars == 20  # the box stops typing at the limit ...
    at.session_state["pending_question"] = "When exactly did France leave Mali?"  # ... any other way in
    at.run()
    error = at.error[-1].value  # gets a sentence
    assert error[0].isupper() and error.endswith(".") and "MALI_QA" not in error and "20" in error


def test_admin_tools_off_beyond_loopback_and_without_paths(
    app_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MALI_QA_ADMIN", "auto")  # AppTest's server.address is "": every interface
    _forget_everything()
    at = start()
    labels = [b.label for b in at.sidebar.button]
    assert not any(label.startswith("Re-ingest") or "Add and index" in label for label in labels)
    assert not at.sidebar.file_uploader
    monkeypatch.setenv("MALI_QA_ADMIN", "on")
    _forget_everything()
    at = start()
    reingest = next(b for b in at.sidebar.button if b.label.startswith("Re-ingest"))
    assert str(app_env.seeds_dir) not in reingest.proto.help and "seeds/" in reingest.proto.help
    assert str(app_env.vectorstore_dir) not in everything_shown(at)


def test_upload_adds_an_article_and_shows_it_as_text(
    app_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seeds, store = tmp_path / "seeds", tmp_path / "store"
    shutil.copytree(app_env.seeds_dir, seeds)
    shutil.copytree(app_env.vectorstore_dir, store)
    monkeypatch.setenv("MALI_QA_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("MALI_QA_VECTORSTORE_DIR", str(store))
    body = (
        "Goats of Gao parade\n\n"
        "The goat festival <script>alert('x')</script> of Gao drew <b>thousands</b> of herders to the "
        "banks of the Niger on Sunday, local officials said, the largest gathering since it began.\n"
    )
    at = start()
    at.sidebar.file_uploader[0].upload("goats.txt", body.encode("utf-8"), "text/plain")
    next(b for b in at.sidebar.button if "Add and index" in b.label).click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert any("goats.txt" in s for s in texts(at.sidebar.success))
    assert (seeds / "goats.txt").is_file()
    assert not (ROOT / "seeds" / "goats.txt").exists()
    assert "**6** articles" in " ".join(texts(at.sidebar.markdown))

    at = switch(at, "articles")
    at.text_input[0].set_value("goat festival").run()
    assert not at.exception
    at.session_state["articles-goat festival"] = {
        "selection": {"rows": [], "columns": [], "cells": [(0, "Headline")]}
    }
    at.run()
    shown = " ".join(texts(at.markdown))
    assert "&lt;script&gt;" in shown and "<script>" not in shown
    assert "&lt;b&gt;thousands&lt;/b&gt;" in shown and "<b>" not in shown
    assert "<mark" in shown  # the search term, highlighted


def test_reingest_asks_first_then_reports(
    app_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seeds, store = tmp_path / "seeds", tmp_path / "store"
    shutil.copytree(app_env.seeds_dir, seeds)
    shutil.copytree(app_env.vectorstore_dir, store)
    monkeypatch.setenv("MALI_QA_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("MALI_QA_VECTORSTORE_DIR", str(store))
    at = start()
    next(b for b in at.sidebar.button if b.label.startswith("Re-ingest")).click().run()
    assert not at.sidebar.success  # nothing done yet: it asks
    assert any("Re-index" in w for w in texts(at.sidebar.warning))
    next(b for b in at.sidebar.button if b.label == "Cancel").click().run()
    assert not at.sidebar.warning and not at.sidebar.success
    next(b for b in at.sidebar.button if b.label.startswith("Re-ingest")).click().run()
    next(b for b in at.sidebar.button if b.label == "Re-ingest").click().run()
    assert not at.exception and not at.error
    assert any("unchanged" in s for s in texts(at.sidebar.success))


def test_articles_page_rows_open_the_article(app_env: Any) -> None:
    at = switch(start(), "articles")
    assert not at.exception
    assert [t.value for t in at.title] == ["Articles"]
    assert any("5 of 5 articles" in c and "click a row" in c for c in texts(at.caption))
    table = at.dataframe[0].value
    assert "Kig News" not in set(table["Outlet"]) and "Axadle" in set(table["Outlet"])
    assert "Date" not in table.columns  # no seed article states a date (tests/test_sources.py)
    assert not at.main.subheader  # nothing opened yet
    at.session_state["articles-"] = {"selection": {"rows": [], "columns": [], "cells": [(2, "Outlet")]}}
    at.run()
    assert [s.value for s in at.main.subheader] == [escape_markdown(table["Headline"][2])]
    at.text_input[0].set_value("Timbuktu").run()
    assert any("mention" in c for c in texts(at.caption))
    assert not at.main.subheader  # a new search starts with nothing selected


def test_evaluation_page_without_and_with_a_report(app_env: Any) -> None:
    at = switch(start(), "evaluation")
    assert any("mali-qa eval" in i.value for i in at.info)
    report_dir = Path(os.environ["MALI_QA_EVAL_REPORT_DIR"])
    report_dir.mkdir(parents=True)
    report = json.loads((ROOT / "eval" / "report" / "report.json").read_text(encoding="utf-8"))
    report["date"] = "2026-11-21T15:30:19+00:00"
    (report_dir / "report.json").write_text(json.dumps(report), encoding="utf-8")
    shutil.copy(ROOT / "eval" / "report" / "report.md", report_dir / "report.md")
    at.run()
    assert not at.info and not at.exception
    assert [t.value for t in at.title] == ["Evaluation"]  # one top-level heading
    assert not any(m.lstrip().startswith("# ") or "\n# " in m for m in texts(at.markdown))
    assert any(
        escape_markdown("2026-11-21 15:30 UTC") in c for c in texts(at.caption)
    )  # the report's own time
    assert [m.label for m in at.metric][:4] == [
        "Answers right / given",
        "Answer accuracy",
        "Evidence shown",
        "Unanswerables answered",
    ]
    by_type = at.dataframe[0].value
    assert "factoid" in set(by_type["type"])  # a table that scrolls, not a Markdown table that overflows
    failures = next(e for e in at.expander if e.label.startswith("Failures"))
    missed = next(item["id"] for item in report["items"] if not item["correct"])
    assert any(missed in m for m in texts(failures.markdown))


# --------------------------------------------------------------------------- the generative engine, the key


def test_sidebar_names_the_model_and_server_never_the_key(
    app_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-test-do-not-show-1234567890"
    monkeypatch.setenv("MALI_QA_ENGINE", "auto")
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens: fails fast
    monkeypatch.setenv("MALI_QA_CHAT_MODEL", "test-model")
    monkeypatch.setenv("MALI_QA_TIMEOUT", "1")
    monkeypatch.setenv("MALI_QA_MAX_RETRIES", "0")
    _forget_everything()
    at = start()
    sidebar = " ".join(texts(at.sidebar.caption))
    assert "test\\-model" in sidebar and "127\\.0\\.0\\.1" in sidebar
    assert key not in everything_shown(at) and key not in sidebar


# --------------------------------------------------------------------------- first paint, configuration


def test_the_page_draws_without_the_heavy_imports() -> None:
    """Everything the page imports before it draws leaves llama-index, chromadb and onnxruntime alone."""
    code = (
        "import sys, pkgutil, importlib; import page;"
        "[importlib.import_module('page.' + m.name) for m in pkgutil.iter_modules(page.__path__) if m.name != 'main'];"
        "heavy = sorted(({m.split('.')[0] for m in sys.modules} | set(sys.modules))"
        " & {'llama_index', 'chromadb', 'onnxruntime', 'torch', 'transformers', 'mali_qa.service'});"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert "from page.engine import page_settings, start_loading" in (ROOT / "app.py").read_text()


def test_streamlit_config_hides_developer_chrome_and_the_watcher() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["toolbarMode"] == "viewer"
    assert config["server"]["fileWatcherType"] == "none"
    assert config["server"]["maxUploadSize"] == 2
    assert config["browser"]["gatherUsageStats"] is False


def test_a_load_runs_once_in_the_background_and_a_failure_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    from mali_qa import service
    from mali_qa.config import Settings

    gate, calls = threading.Event(), []

    def fake(question: str, **kwargs: Any) -> Any:
        calls.append(question)
        gate.wait(10)
        if len(calls) == 1:
            raise IndexUnavailableError("no index: run `mali-qa ingest`")
        yield "ok"

    monkeypatch.setattr(service, "ask_stream", fake)
    engine.forget()
    settings = Settings.from_env(env_file=os.devnull, vectorstore_dir=Path("/nonexistent-store"))
    first = engine.start_loading(settings)
    assert engine.start_loading(settings) is first and not first.done()  # one load at a time
    gate.set()
    assert isinstance(first.exception(timeout=10), IndexUnavailableError)
    assert not engine.loaded(settings)
    assert engine.wait_loaded(settings, timeout=10) >= 0 and engine.loaded(settings)  # tried again
    engine.wait_loaded(settings, timeout=10)
    assert len(calls) == 2
    engine.forget()


# --------------------------------------------------------------------------- pure helpers: highlights


def cite(text: str, quote: str, **extra: Any) -> Citation:
    start = text.index(quote) if quote in text else 0
    return Citation(
        source="a",
        title="t",
        text=text,
        score=1.0,
        quote=quote,
        start=100,
        end=100 + len(text),
        quote_start=100 + start,
        quote_end=100 + start + len(quote),
        **extra,
    )


def test_highlight_escapes_html_and_marks_spans() -> None:
    text = "A <script>alert(1)</script> B & C"
    out = highlight_html(text, outer=(0, len(text)), quotes=[(2, 10)])
    assert "<script>" not in out and "&lt;script&gt;" in out and "&amp;" in out
    assert out.count("<mark") == 3  # passage before the quote, the quote, passage after it
    assert out.count(QUOTE_STYLE) == 1


def test_highlight_clips_and_ignores_bad_spans() -> None:
    assert highlight_html("abc", outer=(5, 9)) == "abc"
    assert highlight_html("abc", quotes=[(2, 1)]) == "abc"
    assert "<mark" in highlight_html("abc", quotes=[(-3, 2)])


def test_highlight_keeps_line_breaks_on_one_line() -> None:
    out = highlight_html("one\n\ntwo")
    assert "\n" not in out and out == "one<br><br>two"


def test_highlight_colours_follow_the_theme_and_set_their_own_text_colour() -> None:
    out = highlight_html("a b c", quotes=[(2, 3)])
    light_bg, light_fg = QUOTE_COLORS["light"]
    dark_bg, dark_fg = QUOTE_COLORS["dark"]
    assert f"background-color:light-dark({light_bg},{dark_bg})" in out
    assert f"color:light-dark({light_fg},{dark_fg})" in out
    assert "color:inherit" not in out


def test_every_cited_sentence_of_a_passage_is_highlighted() -> None:
    text = "One sentence here. Two is the second one. Three is not cited at all. Four is cited too."
    citation = cite(text, "Two is the second one.")
    answer = "Two is the second one. [1] Four is cited too. [1] Elsewhere said. [2]"
    assert cited_sentences(answer, 1) == ["Two is the second one.", "Four is cited too."]
    out = passage_html(citation, answer, 1)
    assert out.count("<mark") == 2 and "Three is not cited at all." in out


def test_passage_html_finds_the_quote_when_offsets_are_off() -> None:
    citation = Citation(
        source="a",
        title="t",
        text="First. Second <i>one</i>.",
        score=1.0,
        quote="Second <i>one</i>.",
        start=100,
        end=125,
        quote_start=0,
        quote_end=1,
    )
    out = passage_html(citation)
    assert "<mark" in out and "Second &lt;i&gt;one&lt;/i&gt;." in out and "<i>" not in out


def test_a_passage_that_is_all_quote_is_shown_in_its_context() -> None:
    article = "Before this one comes a long enough sentence of context. The quote is all of it. After it, more words follow here for context."
    quote = "The quote is all of it."
    start = article.index(quote)
    citation = Citation(
        source="a",
        title="t",
        text=quote,
        score=1.0,
        quote=quote,
        start=start,
        end=start + len(quote),
        quote_start=start,
        quote_end=start + len(quote),
    )
    out = card_html(citation, article, f"{quote} [1]", 1)
    assert out.startswith("Before this one") and out.endswith("for context.")
    assert out.count("<mark") == 1 and f">{quote}</mark>" in out
    assert card_html(citation, "", f"{quote} [1]", 1).count("<mark") == 1  # no article: the passage alone


def test_with_context_takes_whole_sentences() -> None:
    article = "Tiny. A first sentence with several words in it for the context. Quote here. Next one is long enough to count as context for us. Last."
    s = article.index("Quote")
    text, offset = with_context(article, s, s + len("Quote here."), min_words=5)
    assert (
        text
        == "A first sentence with several words in it for the context. Quote here. Next one is long enough to count as context for us."
    )
    assert article[offset:].startswith(text)


def test_article_html_marks_passage_and_quote() -> None:
    article = "Intro.\n\nPassage one. Quote two.\n\nOutro."
    start = article.index("Passage")
    quote_start = article.index("Quote")
    citation = Citation(
        source="a",
        title="t",
        text="Passage one. Quote two.",
        score=1.0,
        quote="Quote two.",
        start=start,
        end=start + 23,
        quote_start=quote_start,
        quote_end=quote_start + 10,
    )
    out = article_html_for_citation(article, citation)
    assert out.count("<mark") == 2 and out.startswith("Intro.") and out.endswith("Outro.")
    assert out.count(QUOTE_STYLE) == 1 and out.count(PASSAGE_STYLE) == 1


def test_answer_html_links_markers_and_escapes() -> None:
    out = answer_html("A <b>x</b> [1] and [2] and [9].\nNext", {1: "src-m-1", 2: "src-m-2"})
    assert "&lt;b&gt;x&lt;/b&gt;" in out and "<b>" not in out
    assert out.count('class="mq-cite"') == 2 and 'data-card="src-m-2"' in out
    assert "[9]" in out and "src-m-9" not in out  # a marker without a card stays text
    assert "\n" not in out


def test_copy_button_holds_the_text_escaped_on_one_line() -> None:
    citation = cite("Quote <here>.", "Quote <here>.", outlet="Outlet", date="2022-08-15")
    answer = Answer(text='Quote <here>. "x" [1]', answered=True, citations=[citation], short="here")
    text = copy_text(answer)
    assert text.splitlines()[0] == "here" and "Sources:" in text and "[1] t — Outlet · 15 Aug 2022" in text
    button = copy_button_html(text)
    assert "\n" not in button and "<here>" not in button and "&quot;x&quot;" in button
    assert "&lt;here&gt;" in button and "&#10;" in button


def test_escape_markdown_renders_literally() -> None:
    assert escape_markdown("[1] *a* <b>") == "\\[1\\] \\*a\\* \\<b\\>"
    assert escape_markdown("a\nb") == "a  \nb"


def test_search_html_is_case_insensitive_and_escaped() -> None:
    out = search_html("Wagner <x> wagner", "WAGNER")
    assert out.count("<mark") == 2 and "&lt;x&gt;" in out


def test_source_heading_matches_the_marker() -> None:
    dated = Citation(source="a", title="Headline", text="t", score=1.0, outlet="Outlet", date="2022-08-15")
    assert source_heading(2, dated) == "[2] Headline — Outlet · 15 Aug 2022"
    assert source_heading(1, Citation(source="a_1", title=" ", text="t", score=1.0)) == "[1] Untitled article"


def test_history_drops_failed_turns() -> None:
    messages = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "", "error": "boom"},
        {"role": "user", "content": "q3"},
    ]
    expected = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}]
    assert history_for(messages) == expected


# --------------------------------------------------------------------------- pure helpers: display


def test_suggestions_come_from_the_closest_passages_then_the_articles() -> None:
    corpus = [
        "The Wagner Group arrived in Timbuktu. Officials in Bamako said the Wagner Group trains troops.",
        "France left Gao. The Wagner Group stayed. Soldiers went to Timbuktu in March.",
        "Mali and Russia signed a deal in Bamako. The soldiers said little.",
    ]
    near = ["Soldiers went to Timbuktu in March, after France left Gao."]
    topics = suggest_topics(near, corpus, limit=3)
    assert topics[0] in ("Timbuktu", "France", "Gao")
    assert "the Wagner Group" in topics or len(topics) == 3
    assert not any(t in ("March", "Soldiers", "The", "Officials") for t in topics)
    assert len(topics) == len({t.lower() for t in topics}) <= 3


def test_errors_become_plain_sentences_without_env_hints_or_paths() -> None:
    message = "the question is 1200 characters long, over the limit of 1000: shorten it (or raise MALI_QA_MAX_QUESTION_CHARS)"
    assert (
        plain_sentence(message) == "The question is 1200 characters long, over the limit of 1000: shorten it."
    )
    assert plain_sentence("Done!") == "Done!"
    root = Path("/work/checkout")
    assert (
        hide_paths("no index in /work/checkout/vectorstore: run it", root)
        == "no index in vectorstore: run it"
    )
    assert hide_paths("see /srv/secret/data/store.json", root) == "see store.json"
    assert short_location("/srv/other/vectorstore", root) == "vectorstore/"
    assert short_location("Chroma server h:8000", root) == "Chroma server h:8000"


def test_admin_switch() -> None:
    assert admin_enabled("auto", "127.0.0.1") and admin_enabled("auto", "localhost")
    assert not admin_enabled("auto", "") and not admin_enabled("auto", "0.0.0.0")
    assert admin_enabled("on", "0.0.0.0") and not admin_enabled("off", "127.0.0.1")


def test_report_helpers() -> None:
    markdown = "# Evaluation report\n\nIntro\n\n## Overall\n\nx\n\n## Failures (2)\n\n### g-1\n\n```\n# not a heading\n```\n"
    demoted = demote_headings(markdown)
    assert (
        demoted.startswith("## Evaluation report")
        and "### Overall" in demoted
        and "# not a heading" in demoted
    )
    assert report_section(markdown, "Failures").startswith("### g-1")
    assert report_section(markdown, "Missing") == ""
    assert report_time({"date": "2026-11-21T15:30:19+00:00"}) == "2026-11-21 15:30 UTC"
    assert report_time({}) == ""
    rows = by_type_rows(
        {"by_type": {"date": {"items": 9, "answer_accuracy": 0.89, "latency_ms": {"p50": 23.4}}}}
    )
    assert rows == [
        {"type": "date", "items": 9, "accuracy": 0.89, "abstention": None, "citation hit": None, "hit@1": None,
         "MRR": None, "p50 ms": 23.4}
    ]  # fmt: skip


# --------------------------------------------------------------------------- the stores


def test_feedback_file_keeps_the_latest_rating_and_stops_when_full(tmp_path: Path) -> None:
    path = tmp_path / "f" / "feedback.jsonl"
    answer = Answer(text="A. [1]", answered=True, citations=[cite("A.", "A.")])
    for rating, message in ((1, "m1"), (0, "m1"), (1, "m2"), (None, "m2")):
        record = feedback_record(
            rating=rating, question="q", answer=answer, conversation="c", message_id=message
        )
        append_feedback(path, record)
    with path.open("a", encoding="utf-8") as out:
        out.write("not json\n")
    entries = read_feedback(path)
    assert [(e["message"], e["rating"]) for e in entries] == [("m1", "down")]  # m2 was cleared
    with pytest.raises(OSError):
        append_feedback(path, record, max_bytes=10)
    assert read_feedback(tmp_path / "missing.jsonl") == []


def test_closest_passages_are_distinct() -> None:
    passages = [
        Passage(id=str(i), article_id="a", title="t", text=text, start=0, end=1)
        for i, text in enumerate(["x", "x", "y"])
    ]
    assert [p.text for p in closest_passages(passages)] == ["x", "y"]
