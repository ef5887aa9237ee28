"""The mali-qa page: chat with cited sources, browse the articles, read the latest evaluation report.

Run: .venv/bin/streamlit run app.py --server.headless true --server.address 127.0.0.1 \
    --browser.gatherUsageStats false
"""

from __future__ import annotations

import os
import sys
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import streamlit as st  # noqa: E402
from page_helpers import (  # noqa: E402
    article_html_for_citation,
    block_html,
    byline,
    closest_passages,
    count_matches,
    engine_lines,
    escape_markdown,
    highlight_html,
    history_for,
    passage_html,
    search_html,
    short_location,
    source_heading,
)

from mali_qa import NO_ANSWER, Answer, Citation, MaliQAError, Settings, ask_stream  # noqa: E402
from mali_qa.library import (  # noqa: E402
    MAX_UPLOAD_BYTES,
    add_article,
    get_article,
    index_info,
    list_articles,
    reingest,
)
from mali_qa.service import default_settings  # noqa: E402

ROOT = Path(__file__).resolve().parent
EXAMPLE_QUESTIONS = (
    "When did France leave Mali?",
    "Why are Russian soldiers in Timbuktu?",
    "How many French soldiers were killed in Mali?",
    "Who are the Wagner Group in Mali?",
)
UPLOAD_TYPES = ["txt", "md", "html"]
TOP_K_MAX = 20


# --------------------------------------------------------------------------- loading, once per process


@st.cache_resource(show_spinner=False)
def load_settings() -> Settings:
    """The settings of `.env` and the environment, read once per server process."""
    return default_settings()


@st.cache_resource(show_spinner=False)
def load_engine(_settings: Settings) -> float:
    """Load the index and the embedding model (building the index from the seeds when missing) once per
    process, with a warm-up question; returns the seconds it took. Failures are not cached: the next rerun
    tries again."""
    started = time.perf_counter()
    for _ in ask_stream("Mali", settings=_settings):
        pass
    seconds = time.perf_counter() - started
    # One line per load in the server log: the latency benchmark counts them to prove reruns don't reload.
    print(f"mali-qa page: loaded the index and model in {seconds:.2f} s", file=sys.stderr, flush=True)
    return seconds


@contextmanager
def shown_errors(doing: str, settings: Settings | None = None) -> Iterator[None]:
    """Turn a failure into an `st.error`: a MaliQAError's message (it names the fix), else a short line."""
    try:
        yield
    except MaliQAError as exc:
        st.error(str(exc), icon=":material/error:")
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)  # the server's log keeps the details, the page never shows them
        st.error(
            f"Something went wrong while {doing} ({type(exc).__name__}). Try again; if it persists, "
            "restart the page with MALI_QA_DEBUG=1 to see the details.",
            icon=":material/error:",
        )
        if settings is not None and settings.debug:
            st.exception(exc)


def current_top_k(settings: Settings) -> int:
    return int(st.session_state.get("top_k", min(settings.top_k, TOP_K_MAX)))


# --------------------------------------------------------------------------- sidebar


def sidebar(settings: Settings) -> None:
    with st.sidebar:
        st.subheader("Answer engine")
        for line in engine_lines(settings):
            st.caption(escape_markdown(line))

        st.subheader("Index")
        info_box = st.container()
        st.slider(
            "Retrieval depth (passages per question)",
            min_value=1,
            max_value=max(TOP_K_MAX, settings.top_k),
            value=min(settings.top_k, TOP_K_MAX),
            key="top_k",
            help="How many passages are retrieved and read for each question (top-k).",
        )

        seeds = Path(settings.seeds_dir)
        if st.button(
            f"Re-ingest {seeds.name}/",
            icon=":material/sync:",
            help=f"Index new and changed articles of {seeds}, drop deleted ones.",
            width="stretch",
        ):
            with shown_errors("re-ingesting the articles", settings), st.spinner("Re-ingesting…"):
                report = reingest(settings)
                st.success(report.summary())
                for warning in report.warnings:
                    st.warning(warning)

        with st.form("upload", clear_on_submit=True, border=False):
            upload = st.file_uploader(
                "Add an article (.txt, .md, .html)",
                type=UPLOAD_TYPES,
                max_upload_size=max(1, MAX_UPLOAD_BYTES // (1024 * 1024)),
                help=f"Saved into {seeds} and indexed; at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
            )
            submitted = st.form_submit_button("Add and index", icon=":material/upload_file:")
        if submitted:
            if upload is None:
                st.warning("Choose a file to add first.")
            else:
                with shown_errors("adding the article", settings), st.spinner("Indexing…"):
                    data = upload.getvalue()
                    if len(data) > MAX_UPLOAD_BYTES:
                        raise MaliQAError(
                            f"{upload.name} is over the {MAX_UPLOAD_BYTES // (1024 * 1024)} MB upload limit: "
                            "split or shorten it"
                        )
                    path, report = add_article(upload.name, data, settings)
                    st.success(f"Added {path.name}. {report.summary()}")
                    for warning in report.warnings:
                        st.warning(warning)

        with info_box, shown_errors("reading the index", settings):
            info = index_info(settings)
            st.markdown(f"**{info.articles}** articles · **{info.passages}** passages")
            built = info.built_at.replace("T", " ").split("+")[0] if info.built_at else "unknown"
            st.caption(escape_markdown(f"Built {built} UTC · {short_location(info.location, ROOT)}"))


# --------------------------------------------------------------------------- chat


def new_conversation() -> None:
    st.session_state["messages"] = []
    st.session_state.pop("pending_question", None)


def queue_question(question: str) -> None:
    st.session_state["pending_question"] = question


def render_citation(n: int, citation: Citation, message_id: str, settings: Settings) -> None:
    with st.container(border=True):
        heading = source_heading(n, citation.title, citation.outlet, citation.date)
        st.markdown(f"**{escape_markdown(heading)}**")
        st.markdown(block_html(passage_html(citation)), unsafe_allow_html=True)
        if not citation.supported:
            st.caption("The cited sentence only partly supports the answer.")
        whole = st.expander(
            f"Read the whole article of source [{n}], passage marked",
            key=f"article-{message_id}-{n}",
            on_change="rerun",
            icon=":material/article:",
        )
        with whole:
            if whole.open:
                with shown_errors("opening the article", settings):
                    article = get_article(citation.source, settings)
                    st.caption(escape_markdown(byline(article.outlet, article.date) or article.id))
                    html = article_html_for_citation(article.text, citation)
                    st.markdown(block_html(html, article=True), unsafe_allow_html=True)


def render_abstention(answer: Answer, message_id: str, settings: Settings) -> None:
    st.info(
        "The articles don't say: no passage in the index answers this question. "
        "These are the closest passages it looked at.",
        icon=":material/search_off:",
    )
    passages = closest_passages(answer.retrieved)
    if not passages:
        return
    with st.expander(f"Closest passages ({len(passages)})", expanded=True):
        for rank, passage in enumerate(passages, 1):
            if rank > 1:
                st.divider()
            heading = f"{rank}. {passage.title}"
            meta = byline(passage.outlet, passage.date)
            st.markdown(f"**{escape_markdown(heading)}**" + (f"  \n{escape_markdown(meta)}" if meta else ""))
            st.markdown(block_html(highlight_html(passage.text)), unsafe_allow_html=True)


def render_answer_details(answer: Answer, message_id: str, settings: Settings) -> None:
    """Everything under an answer's text: the sources, or for an abstention the closest passages."""
    if answer.notice:
        st.caption(escape_markdown(answer.notice))
    if not answer.answered or not answer.citations:
        render_abstention(answer, message_id, settings)
        return
    if answer.unsupported:
        st.warning(
            "Not supported by the cited passages: " + escape_markdown(" / ".join(answer.unsupported)),
            icon=":material/warning:",
        )
    st.markdown(f"**Sources** ({len(answer.citations)})")
    for n, citation in enumerate(answer.citations, 1):
        render_citation(n, citation, message_id, settings)
    st.caption(escape_markdown(f"Engine: {answer.engine} · searched for: {answer.query}"))


def render_message(message: dict[str, Any], settings: Settings) -> None:
    with st.chat_message(message["role"]):
        if message.get("error"):
            st.error(message["error"], icon=":material/error:")
            return
        st.markdown(escape_markdown(message["content"]))
        answer = message.get("answer")
        if isinstance(answer, Answer):
            render_answer_details(answer, message["id"], settings)


def answer_question(question: str, settings: Settings) -> None:
    messages: list[dict[str, Any]] = st.session_state["messages"]
    history = history_for(messages)
    messages.append({"role": "user", "content": question, "id": uuid.uuid4().hex})
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))

    reply: dict[str, Any] = {"role": "assistant", "content": "", "id": uuid.uuid4().hex}
    with st.chat_message("assistant"):
        final: list[Answer] = []

        def pieces() -> Iterator[str]:
            top_k = current_top_k(settings)
            for item in ask_stream(question, history=history, settings=settings, top_k=top_k):
                if isinstance(item, Answer):
                    final.append(item)
                else:
                    yield escape_markdown(item)

        failed = True
        with shown_errors("answering", settings):
            st.write_stream(pieces())
            failed = not final
            if failed:
                raise MaliQAError("the answer engine returned no answer: ask again")
        if failed:
            reply["error"] = "The question could not be answered (see the message above)."
            messages.append(reply)
            return
        answer = final[-1]
        reply.update(content=answer.text or NO_ANSWER, answer=answer)
        messages.append(reply)
        render_answer_details(answer, reply["id"], settings)


def chat_page() -> None:
    settings = load_settings()
    messages: list[dict[str, Any]] = st.session_state.setdefault("messages", [])
    left, right = st.columns([4, 1.3], vertical_alignment="bottom")
    left.title("Ask the articles")
    new_slot = right.empty()  # filled last, once this run's question (if any) is part of the conversation
    st.caption("Questions about Russia in Mali and France's withdrawal, answered from the indexed articles.")

    for message in messages:
        render_message(message, settings)

    typed = st.chat_input("Ask a question about the articles")
    question = typed or st.session_state.pop("pending_question", None)
    if question:
        answer_question(question, settings)
    elif not messages:
        st.markdown("**Try one of these:**")
        for example in EXAMPLE_QUESTIONS:
            st.button(example, on_click=queue_question, args=(example,), icon=":material/help:")
    new_slot.button(
        "New conversation",
        on_click=new_conversation,
        icon=":material/add_comment:",
        disabled=not messages,
        width="stretch",
    )


# --------------------------------------------------------------------------- articles


def articles_page() -> None:
    settings = load_settings()
    st.title("Articles")
    with shown_errors("reading the articles", settings):
        articles = list_articles(settings)
        term = st.text_input("Search the articles", placeholder="e.g. Wagner, Timbuktu, Barkhane")
        matches = {a.id: count_matches(f"{a.title}\n{a.text}", term) for a in articles}
        shown = [a for a in articles if not term.strip() or matches[a.id]]
        found = f"{len(shown)} of {len(articles)} articles"
        st.caption(escape_markdown(found + (f" mention “{term.strip()}”" if term.strip() else "")))
        if not shown:
            return
        st.dataframe(
            [
                {
                    "Headline": a.title,
                    "Outlet": a.outlet,
                    "Date": a.date,
                    **({"Matches": matches[a.id]} if term.strip() else {}),
                    "Characters": len(a.text),
                }
                for a in shown
            ],
            hide_index=True,
            width="stretch",
        )
        by_id = {a.id: a for a in shown}
        chosen = st.selectbox("Read", options=list(by_id), format_func=lambda i: by_id[i].title or i)
        article = by_id[chosen]
        st.subheader(escape_markdown(article.title or article.id))
        meta = byline(article.outlet, article.date)
        st.caption(escape_markdown(f"{meta} · {article.id}" if meta else article.id))
        st.markdown(block_html(search_html(article.text, term)), unsafe_allow_html=True)


# --------------------------------------------------------------------------- evaluation


def evaluation_page() -> None:
    st.title("Evaluation")
    folder = Path(load_settings().eval_report_dir)
    report, chart = folder / "report.md", folder / "report.png"
    if not report.is_file() and not chart.is_file():
        st.info(
            "No evaluation report yet: run `mali-qa eval` to write eval/report/report.md and report.png, "
            "then reload this page.",
            icon=":material/info:",
        )
        return
    newest = max(p.stat().st_mtime for p in (report, chart) if p.is_file())
    st.caption(f"Latest report, written {datetime.fromtimestamp(newest):%Y-%m-%d %H:%M}, from eval/report/.")
    with shown_errors("reading the evaluation report"):
        if chart.is_file():
            st.image(str(chart))
        if report.is_file():
            # Our own report, written by `mali-qa eval`: Markdown, rendered without raw HTML.
            st.markdown(report.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- main


def main() -> None:
    st.set_page_config(page_title="mali-qa", page_icon=":material/forum:", layout="centered")
    page = st.navigation(
        [
            st.Page(chat_page, title="Chat", icon=":material/forum:", url_path="chat", default=True),
            st.Page(articles_page, title="Articles", icon=":material/article:", url_path="articles"),
            st.Page(evaluation_page, title="Evaluation", icon=":material/insights:", url_path="evaluation"),
        ]
    )
    settings: Settings | None = None
    with shown_errors("reading the settings"):
        settings = load_settings()
    if settings is None:
        st.stop()
    page.run()
    sidebar(settings)
    # Last, so that the page shows before the first load (or build) of the index; cached for the process.
    with shown_errors("loading the index", settings), st.spinner("Loading the index (built on first use)…"):
        load_engine(settings)


main()
