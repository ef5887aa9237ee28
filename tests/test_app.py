"""The Streamlit page, run headless with AppTest on a real index built from the seeds in a temp folder."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from page_helpers import (
    article_html_for_citation,
    escape_markdown,
    highlight_html,
    history_for,
    passage_html,
    search_html,
    source_heading,
)
from streamlit.testing.v1 import AppTest

import mali_qa
from mali_qa import IndexUnavailableError
from mali_qa.library import get_article
from mali_qa.types import Citation

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
FRANCE = "When did France leave Mali?"


def _forget_everything() -> None:
    import streamlit as st

    from mali_qa.service import reset

    st.cache_resource.clear()
    reset()


@pytest.fixture
def app_env(built_settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """Environment so that the page's `default_settings()` reads the temp index, never the repo's."""
    monkeypatch.setenv("MALI_QA_VECTORSTORE_DIR", str(built_settings.vectorstore_dir))
    monkeypatch.setenv("MALI_QA_SEEDS_DIR", str(built_settings.seeds_dir))
    monkeypatch.setenv("MALI_QA_ENGINE", "offline")
    monkeypatch.setenv("MALI_QA_EVAL_REPORT_DIR", str(tmp_path / "no-report"))
    _forget_everything()
    yield built_settings
    _forget_everything()


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
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


def switch(at: AppTest, url_path: str) -> AppTest:
    # AppTest.switch_page only knows file pages; an st.Page made from a function is keyed by its url_path.
    from streamlit.util import calc_hash

    at._page_hash = calc_hash(url_path)
    return at.run()


# --------------------------------------------------------------------------- the page


def test_empty_chat_shows_examples_engine_and_index(app_env: Any) -> None:
    at = start()
    labels = [b.label for b in at.button]
    assert FRANCE in labels and "Why are Russian soldiers in Timbuktu?" in labels
    assert not at.chat_message
    sidebar = " ".join(texts(at.sidebar.markdown) + texts(at.sidebar.caption))
    assert "Offline" in sidebar
    assert "**5** articles" in sidebar and "passages" in sidebar
    assert at.sidebar.slider[0].value == app_env.top_k


def test_question_streams_an_answer_with_its_source(app_env: Any) -> None:
    at = ask(start(), FRANCE)
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    reply = last_reply(at)
    body = reply.markdown[0].value
    assert "\\[1\\]" in body  # the marker, escaped so it shows as "[1]"
    answer = at.session_state["messages"][-1]["answer"]
    assert answer.answered and answer.citations
    markdown = texts(reply.markdown)
    first = answer.citations[0]
    assert any(m.startswith("**\\[1\\] ") and escape_markdown(first.title.strip()) in m for m in markdown)
    assert any("<mark" in m and "#fde68a" in m for m in markdown)  # the cited sentence, highlighted
    assert len(reply.expander) == len(answer.citations)  # one "read the whole article" per source


def test_example_question_button_asks_it(app_env: Any) -> None:
    at = start()
    next(b for b in at.button if b.label == FRANCE).click().run()
    assert not at.exception
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert at.chat_message[0].markdown[0].value == escape_markdown(FRANCE)
    assert at.session_state["messages"][-1]["answer"].answered
    assert FRANCE not in [b.label for b in at.button]  # the examples are gone once the chat has started


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
    asked = [c for c in calls if c["question"] != "Mali"]  # the page's one warm-up question aside
    assert asked[0]["history"] == []
    assert asked[1]["history"] == [
        {"role": "user", "content": FRANCE},
        {"role": "assistant", "content": first_answer},
    ]
    assert asked[1]["top_k"] == app_env.top_k
    assert len(at.chat_message) == 4
    follow_up = at.session_state["messages"][-1]["answer"]
    assert "France" in follow_up.query  # the follow-up was read in the light of the first question


def test_abstention_says_so_and_shows_closest_passages(app_env: Any) -> None:
    at = ask(start(), "Who won the 2022 FIFA World Cup?")
    reply = last_reply(at)
    answer = at.session_state["messages"][-1]["answer"]
    assert answer.answered is False
    assert reply.markdown[0].value == escape_markdown(mali_qa.NO_ANSWER)
    assert any("don't say" in i.value for i in reply.info)
    assert reply.expander[0].label.startswith("Closest passages")
    closest = escape_markdown(answer.retrieved[0].title)
    assert any(closest in m for m in texts(reply.markdown))


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
    assert whole[0].count("#fde68a") == 1  # the cited sentence, highlighted in place
    if citation.text.strip() != citation.quote.strip():
        assert whole[0].count("#dbeafe") >= 1  # the rest of the cited passage, marked
    article = get_article(citation.source, app_env)
    assert len(whole[0]) > len(article.text) * 0.9  # the whole article, not only the passage


def test_new_conversation_clears_the_chat(app_env: Any) -> None:
    at = ask(start(), FRANCE)
    next(b for b in at.button if b.label == "New conversation").click().run()
    assert not at.chat_message and at.session_state["messages"] == []
    assert FRANCE in [b.label for b in at.button]


def test_package_error_is_shown_with_its_fix(app_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start()

    def broken(question: str, **kwargs: Any) -> Any:
        raise IndexUnavailableError("no finished index in /x: run `mali-qa ingest`")
        yield  # pragma: no cover

    monkeypatch.setattr(mali_qa, "ask_stream", broken)
    at = ask(at, FRANCE)
    assert texts(at.error) == ["no finished index in /x: run `mali-qa ingest`"]
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
    assert len(errors) == 1 and "RuntimeError" in errors[0] and "secret internals" not in errors[0]
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
    at = ask(at, FRANCE)
    assert "index" in at.error[-1].value and not at.exception


def test_invalid_question_is_an_error_not_a_crash(app_env: Any) -> None:
    at = ask(start(), "???")
    assert any("no letters or digits" in e for e in texts(at.error))


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
    shown = " ".join(texts(at.markdown))
    assert "&lt;script&gt;" in shown and "<script>" not in shown
    assert "&lt;b&gt;thousands&lt;/b&gt;" in shown and "<b>" not in shown
    assert "<mark" in shown  # the search term, highlighted


def test_reingest_button_reports(app_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seeds, store = tmp_path / "seeds", tmp_path / "store"
    shutil.copytree(app_env.seeds_dir, seeds)
    shutil.copytree(app_env.vectorstore_dir, store)
    monkeypatch.setenv("MALI_QA_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("MALI_QA_VECTORSTORE_DIR", str(store))
    at = start()
    next(b for b in at.sidebar.button if b.label.startswith("Re-ingest")).click().run()
    assert not at.exception and not at.error
    assert at.sidebar.success


def test_articles_page_lists_and_searches(app_env: Any) -> None:
    at = switch(start(), "articles")
    assert not at.exception
    assert at.title[0].value == "Articles"
    assert "5 of 5 articles" in " ".join(texts(at.caption))
    at.text_input[0].set_value("Timbuktu").run()
    assert any("mention" in c for c in texts(at.caption))
    assert any("<mark" in m for m in texts(at.markdown))


def test_evaluation_page_without_and_with_a_report(app_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    at = switch(start(), "evaluation")
    assert any("mali-qa eval" in i.value for i in at.info)

    import os

    report_dir = Path(os.environ["MALI_QA_EVAL_REPORT_DIR"])
    report_dir.mkdir(parents=True)
    (report_dir / "report.md").write_text("# Evaluation\n\n| metric | value |\n|---|---|\n| accuracy | 0.9 |")
    at.run()
    assert not at.info and any("accuracy" in m for m in texts(at.markdown))


# --------------------------------------------------------------------------- pure helpers


def test_highlight_escapes_html_and_marks_spans() -> None:
    text = "A <script>alert(1)</script> B & C"
    out = highlight_html(text, outer=(0, len(text)), inner=(2, 10))
    assert "<script>" not in out and "&lt;script&gt;" in out and "&amp;" in out
    assert out.count("<mark") == 3  # passage before the quote, the quote, passage after it
    assert out.count("#fde68a") == 1


def test_highlight_clips_and_ignores_bad_spans() -> None:
    assert highlight_html("abc", outer=(5, 9)) == "abc"
    assert highlight_html("abc", inner=(2, 1)) == "abc"
    assert "<mark" in highlight_html("abc", inner=(-3, 2))


def test_highlight_keeps_line_breaks_on_one_line() -> None:
    out = highlight_html("one\n\ntwo")
    assert "\n" not in out and out == "one<br><br>two"


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


def test_escape_markdown_renders_literally() -> None:
    assert escape_markdown("[1] *a* <b>") == "\\[1\\] \\*a\\* \\<b\\>"
    assert escape_markdown("a\nb") == "a  \nb"


def test_search_html_is_case_insensitive_and_escaped() -> None:
    out = search_html("Wagner <x> wagner", "WAGNER")
    assert out.count("<mark") == 2 and "&lt;x&gt;" in out


def test_source_heading_matches_the_marker() -> None:
    assert source_heading(2, "Headline", "Outlet", "2022-08-15") == "[2] Headline — Outlet · 2022-08-15"
    assert source_heading(1, " ", "", "") == "[1] Untitled article"


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
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception
    sidebar = " ".join(texts(at.sidebar.caption))
    assert "test\\-model" in sidebar and "127\\.0\\.0\\.1" in sidebar
    shown = " ".join(texts(at.markdown) + texts(at.caption) + texts(at.error) + texts(at.info))
    assert key not in shown and key not in sidebar
