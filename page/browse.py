"""The Articles page (a table whose rows open the article, with search) and the Evaluation page (the latest
`mali-qa eval` report with its own timestamp, and the ratings given on the chat page)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from mali_qa.sources import shown_date, shown_title, source_meta
from page.common import ROOT, shown_errors, wait_for_index
from page.display import by_type_rows, demote_headings, read_report, report_section, report_time, short_path
from page.engine import page_settings
from page.figures import (
    FigureSet,
    figure_row,
    figure_text,
    first_sight,
    held_out,
    in_sample_note,
    plural,
    table_cells,
)
from page.markup import block_html, count_matches, escape_markdown, search_html
from page.sidebar import is_admin
from page.store import read_feedback


def article_rows(articles: list[Any], matches: dict[str, int], term: str) -> list[dict[str, Any]]:
    """One row per article, named as every front end names it (`mali_qa.sources`): an empty cell where the
    article states no outlet or date, and no Outlet or Date column when no article states one."""
    rows = []
    for a in articles:
        row = {"Headline": shown_title(a), "Outlet": a.outlet.strip(), "Date": shown_date(a.date)}
        if term:
            row["Matches"] = matches[a.id]
        rows.append(row)
    for column in ("Outlet", "Date"):
        if not any(row[column] for row in rows):
            for row in rows:
                del row[column]
    return rows


def selected_row(selection: Any) -> int | None:
    """The row of the table's selection (a dict-like `{"rows": [...], "cells": [(row, column)]}`): a selected
    row, else the row of a selected cell."""
    if not selection:
        return None
    rows = selection.get("rows") or []
    if rows:
        return int(rows[0])
    cells = selection.get("cells") or []
    return int(cells[0][0]) if cells else None


def articles_page() -> None:
    from mali_qa.library import list_articles

    settings = page_settings()
    st.title("Articles")
    with shown_errors("reading the articles", settings):
        wait_for_index(settings)
        articles = list_articles(settings)
        term = st.text_input("Search the articles", placeholder="e.g. Wagner, Timbuktu, Barkhane").strip()
        matches = {a.id: count_matches(f"{a.title}\n{a.text}", term) for a in articles}
        shown = [a for a in articles if not term or matches[a.id]]
        found = f"{len(shown)} of {len(articles)} articles"
        st.caption(
            escape_markdown(found + (f" mention “{term}”" if term else "") + " · click a row to read it")
        )
        if not shown:
            return
        event = st.dataframe(
            article_rows(shown, matches, term),
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-cell",  # a click on any cell of a row opens it
            key=f"articles-{term.lower()}",  # a new search starts with nothing selected
            column_config={
                "Outlet": st.column_config.TextColumn(width=100),
                "Date": st.column_config.TextColumn(width=120),
                "Matches": st.column_config.NumberColumn(width=80),
            },
        )
        row = selected_row(event.selection if event is not None else None)
        if row is None or not 0 <= row < len(shown):
            return
        article = shown[row]
        st.subheader(escape_markdown(shown_title(article)))
        meta = source_meta(article)
        if meta:
            st.caption(escape_markdown(meta))
        st.markdown(block_html(search_html(article.text, term), article=True), unsafe_allow_html=True)


def evaluation_page() -> None:
    settings = page_settings()
    st.title("Evaluation")
    folder = settings.eval_report_dir
    report_json, report_md, chart = folder / "report.json", folder / "report.md", folder / "report.png"
    report = read_report(report_json)
    markdown = report_md.read_text(encoding="utf-8") if report_md.is_file() else ""
    unseen_figures(folder.parent)  # first: the figures on questions the engine never saw
    st.subheader("In sample")
    if report is None and not markdown and not chart.is_file():
        st.info(
            "No evaluation report yet: run `mali-qa eval`, then reload this page.",
            icon=":material/info:",
        )
    else:
        with shown_errors("reading the evaluation report"):
            evaluation_report(report, markdown, chart, short_path(folder, ROOT))
    feedback_section(settings.feedback_file, admin=is_admin(settings))


def evaluation_report(report: dict[str, Any] | None, markdown: str, chart: Any, folder: str) -> None:
    if report is not None:
        when = report_time(report)
        st.caption(escape_markdown(in_sample_note(report)))
        st.caption(
            escape_markdown(
                f"Latest report of mali-qa eval, made {when or 'at an unknown time'} on {report.get('gold', '?')}"
                f" · engine {report.get('engine', '?')} · top-k {report.get('top_k', '?')} · from {folder}/"
            )
        )
        latency = (report.get("latency_ms") or {}).get("p50")
        metric_row([*figure_row(report), ("Latency p50", figure_text(latency, unit="ms"))])
    if chart.is_file():
        st.image(str(chart))
    if report is not None and report.get("by_type"):
        st.subheader("By type")
        st.dataframe(table_cells(by_type_rows(report)), hide_index=True, width="stretch")
    elif markdown:
        st.markdown(demote_headings(markdown))  # our own report, rendered as Markdown without raw HTML
        return
    failures = report_section(markdown, "Failures")
    if failures:
        with st.expander("Failures, one by one", icon=":material/rule:"):
            st.markdown(demote_headings(failures, 1))


def unseen_figures(eval_dir: Any) -> None:
    """Held-out and first-sight figures, each with the sentence saying what it is (nothing when neither exists)."""
    sets = [
        s for s in (held_out(eval_dir / "bank" / "fit_report.json"), first_sight(eval_dir / "heldout")) if s
    ]
    if not sets:
        return
    st.subheader("Held out and first sight: questions the engine never saw")
    for figures in sets:
        figure_set(figures)


def figure_set(figures: FigureSet) -> None:
    st.caption(escape_markdown(figures.note))
    metric_row(figure_row(figures))


def metric_row(shown: list[tuple[str, str]]) -> None:
    with st.container(horizontal=True, gap="medium"):
        for label, value in shown:
            st.metric(label, value, border=True)


def feedback_section(path: Any, *, admin: bool) -> None:
    """The ratings of the chat page: counts for everyone, the rated questions and answers for an admin only
    (a visitor's question may hold what another visitor must not read)."""
    st.subheader("Ratings from the chat page")
    entries = read_feedback(path)
    if not entries:
        st.caption("No answer has been rated yet: use the thumbs under an answer on the chat page.")
        return
    up = sum(1 for e in entries if e.get("rating") == "up")
    st.caption(
        f"{plural(len(entries), 'rated answer')}: {up} helpful, {len(entries) - up} not helpful"
        " (latest rating each)."
    )
    if not admin:
        st.caption("The rated questions and answers are shown to an admin only (MALI_QA_ADMIN).")
        return
    st.dataframe(
        [
            {
                "When": str(e.get("time", "")).replace("T", " ")[:16],
                "Rating": "helpful" if e.get("rating") == "up" else "not helpful",
                "Question": str(e.get("question") or ""),
                "Answer": str(e.get("answer") or ""),
                "Sources": ", ".join(str(c.get("title", "")) for c in e.get("citations") or []),
            }
            for e in entries
        ],
        hide_index=True,
        width="stretch",
        column_config={"Rating": st.column_config.TextColumn(width=100)},
    )
