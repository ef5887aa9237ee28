"""Sources named the same everywhere (issue 28, item 3): ingest reads a date or outlet only where the article
states it, and the page's cards and Articles table, `mali-qa ask` and `chat`, the HTTP citations of /v1/ask and
/v1/chat/completions, and /v1/articles all show `sources.source_label`: no "date not given", no "–", no site
banner's date or spam footer's name, no raw id where a title is expected."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from page.markup import escape_markdown

from mali_qa.ingest.clean import clean_text
from mali_qa.ingest.corpus import parse_article, read_folder
from mali_qa.ingest.metadata import article_outlet, is_spam_outlet, iso_date
from mali_qa.sources import shown_date, source_label, source_meta
from mali_qa.types import Article, Citation
from test_app import app_env, ask, last_reply, start, switch, texts

__all__ = ["app_env"]  # the fixture, shared with test_app.py

BODY = (
    "Russian soldiers arrived in the northern city to train Malian troops, the army spokesman said on Friday."
)
#: What each seed states of itself: only 001 names its publisher (a syndication notice); none states a whole
#: date (004's "Tuesday, October 19" above the headline is the site's banner of the day it was saved).
STATED = {
    "000_b06dc7d12b134529": ("", ""),
    "001_ce45e1c8aef7f2ba": ("", "Axadle"),
    "002_07d3930ec7cbf04e": ("", ""),
    "003_cd5923c85434dd50": ("", ""),
    "004_49f779cc4835a65a": ("", ""),
}
#: Questions whose answer cites 001 (an outlet), 004 (a banner date) and 002 (a spam footer), in that order.
QUESTIONS = {
    "How many Russian military personnel could operate in Mali?": "001_ce45e1c8aef7f2ba",
    "What did the Prime Minister of Mali accuse France of at the UN?": "004_49f779cc4835a65a",
    "How many French soldiers were killed in Mali?": "002_07d3930ec7cbf04e",
}
#: What a reader must never see as a source's metadata.
NEVER = ("date not given", "Tuesday, October 19", "Kig News", "–", *QUESTIONS.values())


def _labels(seeds_dir: Path) -> dict[str, str]:
    return {a.id: source_label(a) for a in read_folder(seeds_dir).articles}


# --------------------------------------------------------------------------- ingest


def test_each_seed_gets_only_the_date_and_outlet_it_states(seeds_dir: Path) -> None:
    articles = read_folder(seeds_dir).articles
    assert {a.id: (a.date, a.outlet) for a in articles} == STATED
    assert all(a.title and a.title != a.id for a in articles)


def test_a_year_less_date_line_is_no_date_and_leaves_the_body() -> None:
    cleaned = clean_text(f"Tuesday, October 19\n\nMali requests Russian mercenaries\n\n{BODY}")
    assert (cleaned.title, cleaned.date, cleaned.body) == ("Mali requests Russian mercenaries", "", BODY)


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("19 October 2021", "2021-10-19"),
        ("Tuesday, October 19, 2021", "2021-10-19"),
        ("Published: Oct. 19, 2021", "2021-10-19"),
        ("2021-10-19", "2021-10-19"),
        ("Monday, October 19, 2021", ""),  # the weekday contradicts the date
        ("February 30, 2022", ""),
        ("Tuesday, October 19", ""),  # no year: not a date a reader can place
    ],
)
def test_a_whole_date_under_the_headline_is_the_date_in_iso(line: str, iso: str) -> None:
    cleaned = clean_text(f"Mali requests Russian mercenaries\n\n{line}\n\n{BODY}")
    assert cleaned.date == iso and cleaned.body == BODY
    assert iso_date(line) == iso


def test_a_date_in_the_body_is_not_the_articles_date() -> None:
    assert clean_text(f"Mali requests Russian mercenaries\n\n{BODY}\n\n19 October 2021\n\n{BODY}").date == ""


def test_a_spam_footer_names_no_outlet_and_a_syndication_notice_does() -> None:
    spam = (
        f"A headline with four words\n\n{BODY}\n\nSource link\n\nKig News: Update the world's latest news\n"
    )
    assert clean_text(spam).outlet == ""
    notice = (
        f"A headline with four words\n\n{BODY}\n\nPost Disclaimer\n\n(Has not been edited by Axadle Staff.)"
    )
    assert clean_text(notice).outlet == "Axadle"
    wire = f"A headline with four words\n\nBAMAKO, Jan 7 (Reuters) - {BODY}"
    assert clean_text(wire).outlet == "Reuters"


def test_an_outlet_that_is_a_date_or_a_promotion_is_refused() -> None:
    footer = "Kig News: Update the world's latest breaking news online of the day"
    assert article_outlet("Tuesday, October 19") == "" and article_outlet("2021") == ""
    assert is_spam_outlet("Kig News", footer) and article_outlet("Kig News", footer) == ""
    assert article_outlet("Daily News", "Daily News reported on Monday that...") == "Daily News"
    assert article_outlet("  Reuters ") == "Reuters"


def test_html_metadata_is_read_as_stated() -> None:
    html = (
        '<html><head><title>Russian advisers arrive in Mali</title><meta property="og:site_name" '
        'content="Sahel Daily"><meta property="article:published_time" content="2022-01-07T10:00:00Z">'
        f"</head><body><article><h1>Russian advisers arrive in Mali</h1><p>{BODY}</p><p>{BODY}</p></article>"
        "</body></html>"
    )
    article = parse_article("x", html, ".html")
    assert (article.date, article.outlet) == ("2022-01-07", "Sahel Daily")
    assert source_label(article) == "Russian advisers arrive in Mali — Sahel Daily · 7 Jan 2022"


# --------------------------------------------------------------------------- the one label


def test_the_label_holds_only_the_known_parts() -> None:
    full = Article(id="a_1", title="France leaves", text="x", date="2022-08-15", outlet="AP")
    assert source_label(full) == "France leaves — AP · 15 Aug 2022"
    assert (
        source_label(Article(id="a_1", title="France leaves", text="x", outlet="AP")) == "France leaves — AP"
    )
    assert source_label(Article(id="a_1", title="France leaves", text="x", date="2022-08-15")) == (
        "France leaves — 15 Aug 2022"
    )
    assert source_label(Article(id="002_07d3930ec7cbf04e", title=" ", text="x")) == "Untitled article"
    assert source_meta(Article(id="a", title="t", text="x")) == ""


@pytest.mark.parametrize("value", ["", "Tuesday, October 19", "2022-02-31", "19 October 2021", "soon"])
def test_anything_but_a_whole_iso_date_shows_no_date(value: str) -> None:
    assert shown_date(value) == ""


def test_a_citation_carries_its_label() -> None:
    cited = Citation(source="a_1", title="France leaves", text="t", score=1.0, outlet="AP", date="2022-08-15")
    assert cited.to_dict()["label"] == "France leaves — AP · 15 Aug 2022"


def test_the_cli_names_a_source_by_its_label_without_its_id(capsys: Any) -> None:
    from mali_qa.cli import _print_answer
    from mali_qa.types import Answer

    cited = Citation(source="002_07d3930ec7cbf04e", title="Last French troops leave Mali", text="t.", score=1)
    _print_answer(Answer(text="t. [1]", answered=True, citations=[cited]), False)
    out = capsys.readouterr().out
    assert (
        "[1] Last French troops leave Mali\n" in out and "002_07d3930ec7cbf04e" not in out and "()" not in out
    )


# --------------------------------------------------------------------------- every front end, over the seeds


def _cli(args: list[str], settings: Any, stdin: str | None = None) -> str:
    env = {
        **os.environ,
        "MALI_QA_VECTORSTORE_DIR": str(settings.vectorstore_dir),
        "MALI_QA_SEEDS_DIR": str(settings.seeds_dir),
        "MALI_QA_ENGINE": "offline",
    }
    done = subprocess.run(
        [sys.executable, "-m", "mali_qa.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _source_lines(out: str) -> list[str]:
    return [line.split("] ", 1)[1] for line in out.splitlines() if line[:1] == "[" and "] " in line]


@pytest.mark.integration
def test_mali_qa_ask_and_chat_show_each_source_by_its_label(built_settings: Any, seeds_dir: Path) -> None:
    labels = _labels(seeds_dir)
    for question, source in QUESTIONS.items():
        out = _cli(["ask", question], built_settings)
        assert _source_lines(out)[0] == labels[source], out
        assert not any(bad in line for line in _source_lines(out) for bad in NEVER), out
    out = _cli(["chat"], built_settings, stdin="\n".join([*QUESTIONS, "/quit"]) + "\n")
    shown = _source_lines(out)
    assert all(labels[source] in shown for source in QUESTIONS.values()), out
    assert not any(bad in line for line in shown for bad in NEVER), out


def _call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def _stream_fields(raw: str) -> dict[str, Any]:
    """mali-qa's fields of a stream: those of its last data chunk that carries `citations`."""
    chunks = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: {")]
    return next(c for c in reversed(chunks) if "citations" in c)


@pytest.mark.integration
def test_the_service_names_each_source_by_its_label(built_settings: Any, seeds_dir: Path) -> None:
    from mali_qa import service
    from mali_qa.server.app import create_app

    service.reset()
    labels = _labels(seeds_dir)
    app = create_app(built_settings.with_(engine="offline"))
    for question, source in QUESTIONS.items():
        message = {"messages": [{"role": "user", "content": question}]}
        replies = [
            _call(app, "POST", "/v1/ask", json={"question": question}).json(),
            _call(app, "POST", "/v1/chat/completions", json=message).json(),
            _stream_fields(_call(app, "POST", "/v1/chat/completions", json={**message, "stream": True}).text),
        ]
        for reply in replies:
            first = reply["citations"][0]
            assert (first["source"], first["label"]) == (source, labels[source])
            assert (first["date"], first["outlet"]) == STATED[source]
    listed = _call(app, "GET", "/v1/articles").json()["data"]
    assert {row["id"]: row["label"] for row in listed} == labels
    assert {row["id"]: (row["date"], row["outlet"]) for row in listed} == STATED
    one = _call(app, "GET", "/v1/articles/004_49f779cc4835a65a").json()
    assert (one["label"], one["date"], one["outlet"]) == (labels["004_49f779cc4835a65a"], "", "")
    service.reset()


@pytest.mark.integration
def test_the_pages_source_cards_show_each_source_by_its_label(app_env: Any, seeds_dir: Path) -> None:
    labels = _labels(seeds_dir)
    at = start()
    for question, source in QUESTIONS.items():
        at = ask(at, question)
        cards = [e.label for e in last_reply(at).expander if e.label.startswith("\\[")]
        assert cards[0] == escape_markdown(f"[1] {labels[source]}")
        assert not any(bad in card for card in cards for bad in NEVER), cards


@pytest.mark.integration
def test_the_articles_page_shows_only_what_the_articles_state(app_env: Any, seeds_dir: Path) -> None:
    articles = {a.id: a for a in read_folder(seeds_dir).articles}
    at = switch(start(), "articles")
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["Headline", "Outlet"]  # no seed states a date: no Date column
    assert list(table["Headline"]) == [a.title for a in articles.values()]
    assert list(table["Outlet"]) == [outlet for _, outlet in STATED.values()]
    assert not any(bad in str(cell) for cell in table.to_numpy().ravel() for bad in NEVER)
    at.session_state["articles-"] = {"selection": {"rows": [4], "columns": [], "cells": []}}
    at.run()
    assert [s.value for s in at.main.subheader] == [escape_markdown(articles["004_49f779cc4835a65a"].title)]
    shown = "\n".join(texts(at.caption))
    assert not any(bad in shown for bad in NEVER), shown
