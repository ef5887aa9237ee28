"""The chat page: the question box (capped at the question limit) with "New conversation" beside it, streamed
answers whose [n] markers link to their source cards, copy and thumbs up/down on every answer, abstentions
with suggested questions, and the conversation kept across a reload (its id in the URL as `?c=`)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import streamlit as st

import mali_qa
from mali_qa.config import Settings
from mali_qa.errors import MaliQAError
from mali_qa.sources import source_label, source_meta
from mali_qa.types import NO_ANSWER, Answer, Citation
from page.common import article_for, show_error, shown_errors, wait_for_index
from page.conversation import closest_passages, history_for, question_for
from page.display import suggest_topics, suggestion_question
from page.history import (
    browser_owner,
    conversation_list,
    new_conversation,
    remember_browser,
    saved_conversations,
)
from page.labels import copy_text, source_heading, written_answers_hint
from page.markup import (
    answer_html,
    article_html_for_citation,
    block_html,
    card_html,
    copy_button_html,
    escape_markdown,
    highlight_html,
)
from page.saved import new_conversation_id
from page.store import append_feedback, feedback_record

EXAMPLE_QUESTIONS = (
    "When did France leave Mali?",
    "Why are Russian soldiers in Timbuktu?",
    "How many French soldiers were killed in Mali?",
    "Who are the Wagner Group in Mali?",
)
TOP_K_MAX = 20
#: What heads the closest-passages reply (the reply's own CLOSEST_PASSAGES opening, said once, as a label).
CLOSEST_LABEL = "Not sure: the articles may not answer this directly. These are the closest passages."
SUGGESTIONS = 3


def current_top_k(settings: Settings) -> int:
    return int(st.session_state.get("top_k", min(settings.top_k, TOP_K_MAX)))


def card_key(message_id: str, n: int) -> str:
    return f"src-{message_id}-{n}"


# --------------------------------------------------------------------------- the conversation


def restore_conversation() -> list[dict[str, Any]]:
    """This session's messages: on its first run, the conversation named by `?c=` when this browser made it."""
    if "messages" not in st.session_state:
        wanted = st.query_params.get("c", "")
        restored = saved_conversations().get(wanted, browser_owner()) if wanted else None
        st.session_state["conversation"] = wanted if restored is not None else new_conversation_id()
        st.session_state["messages"] = restored or []
        if restored is None and wanted:
            st.query_params.pop("c", None)  # not this browser's (or gone): a fresh chat, its link dropped
    messages: list[dict[str, Any]] = st.session_state["messages"]
    if messages and st.query_params.get("c") != st.session_state["conversation"]:
        st.query_params["c"] = st.session_state["conversation"]  # back from another page: a reload keeps it
    return messages


def save_conversation() -> None:
    conversation = st.session_state["conversation"]
    try:
        saved_conversations().put(conversation, browser_owner(), st.session_state["messages"])
    except (OSError, sqlite3.Error):
        st.toast("This conversation could not be saved.", icon=":material/error:")
    if st.query_params.get("c") != conversation:
        st.query_params["c"] = conversation


def queue_question(question: str) -> None:
    st.session_state["pending_question"] = question


def record_feedback(message_id: str, key: str, settings: Settings) -> None:
    """The thumbs' callback: remember the rating in the message and append it to the feedback file."""
    messages: list[dict[str, Any]] = st.session_state.get("messages", [])
    message = next((m for m in messages if m.get("id") == message_id), None)
    if message is None or not isinstance(message.get("answer"), Answer):
        return
    rating = st.session_state.get(key)
    message["feedback"] = rating
    record = feedback_record(
        rating=rating,
        question=question_for(messages, message_id),
        answer=message["answer"],
        conversation=st.session_state.get("conversation", ""),
        message_id=message_id,
    )
    try:
        append_feedback(settings.feedback_file, record)
        st.toast("Thanks: your rating was saved." if rating is not None else "Rating removed.")
    except OSError:
        st.toast("Your rating could not be saved.", icon=":material/error:")
    save_conversation()


# --------------------------------------------------------------------------- one answer


def render_card(n: int, citation: Citation, answer: Answer, message_id: str, settings: Settings) -> None:
    article = article_for(citation.source, settings)
    label = source_heading(n, citation)
    with st.expander(escape_markdown(label), expanded=n == 1, key=card_key(message_id, n)):
        text = card_html(citation, article.text if article else "", answer.text, n, answer.short)
        st.markdown(block_html(text), unsafe_allow_html=True)
        if not citation.supported:
            st.caption("The cited sentence only partly supports the answer.")
        whole = st.expander(
            "Read the whole article, passage marked",
            key=f"article-{message_id}-{n}",
            on_change="rerun",
            icon=":material/article:",
            type="compact",
        )
        with whole:
            if whole.open:
                with shown_errors("opening the article", settings):
                    if article is None:
                        raise MaliQAError("this article is no longer in the index: re-ingest the articles")
                    meta = source_meta(article)
                    if meta:
                        st.caption(escape_markdown(meta))
                    html = article_html_for_citation(article.text, citation, answer.text, n)
                    st.markdown(block_html(html, article=True), unsafe_allow_html=True)


def render_abstention(answer: Answer, message: dict[str, Any], settings: Settings) -> None:
    """The message first, then questions the articles can answer, then the closest passages, collapsed."""
    st.info(
        "The articles don't say: no passage in the indexed articles answers this question.",
        icon=":material/search_off:",
    )
    render_suggestions(message, "The articles do cover these:")
    passages = closest_passages(answer.retrieved)
    if not passages:
        return
    with st.expander(f"Closest passages it looked at ({len(passages)})", expanded=False):
        for rank, passage in enumerate(passages, 1):
            if rank > 1:
                st.divider()
            heading = f"{rank}. {source_label(passage)}"
            st.markdown(f"**{escape_markdown(heading)}**")
            st.markdown(block_html(highlight_html(passage.text)), unsafe_allow_html=True)


def render_suggestions(message: dict[str, Any], heading: str) -> None:
    suggestions: list[str] = message.get("suggestions") or []
    if suggestions:
        st.markdown(f"**{heading}**")
        with st.container(horizontal=True, gap="small"):
            for i, question in enumerate(suggestions):
                st.button(
                    question,
                    key=f"suggest-{message['id']}-{i}",
                    on_click=queue_question,
                    args=(question,),
                    icon=":material/lightbulb:",
                )


def render_closest(answer: Answer, message: dict[str, Any], settings: Settings) -> None:
    """The middle kind of reply, below its label and quotes: their source cards, what gives written answers,
    then questions on names those passages hold."""
    st.markdown(f"**Closest passages** ({len(answer.citations)})")
    for n, citation in enumerate(answer.citations, 1):
        render_card(n, citation, answer, message["id"], settings)
    if hint := written_answers_hint(settings):
        st.caption(escape_markdown(hint))
    render_suggestions(message, "Questions these passages answer:")


def render_answer(answer: Answer, message: dict[str, Any], settings: Settings) -> None:
    """An answer's short answer, text, sources and actions (the text slot may already hold the stream)."""
    message_id = message["id"]
    if answer.notice:
        st.caption(escape_markdown(answer.notice))
    if answer.kind == "passages":
        render_closest(answer, message, settings)
    elif answer.kind == "none":
        render_abstention(answer, message, settings)
    elif not answer.citations:
        st.caption("This answer cites no passage of the articles.")
    else:
        if answer.unsupported:
            st.warning(
                "Not supported by the cited passages: " + escape_markdown(" / ".join(answer.unsupported)),
                icon=":material/warning:",
            )
        st.markdown(f"**Sources** ({len(answer.citations)})")
        for n, citation in enumerate(answer.citations, 1):
            render_card(n, citation, answer, message_id, settings)
    with st.container(
        horizontal=True, vertical_alignment="center", gap="medium", key=f"actions-{message_id}"
    ):
        key = f"feedback-{message_id}"
        st.feedback(
            "thumbs",
            key=key,
            default=message.get("feedback"),
            on_change=record_feedback,
            args=(message_id, key, settings),
        )
        st.markdown(copy_button_html(copy_text(answer)), unsafe_allow_html=True)
        if answer.answered:
            st.caption(escape_markdown(f"Engine: {answer.engine} · searched for: {answer.query}"))


def answer_text_html(answer: Answer, message_id: str) -> str:
    """The answer's text (the closest passages' quotes without their opening: the label says it), its [n]
    markers linked to the source cards."""
    keys = {n: card_key(message_id, n) for n in range(1, len(answer.citations) + 1)}
    text = answer.text
    if answer.kind == "passages":  # one quote a paragraph: passages side by side, not one made-up paragraph
        text = "\n\n".join(answer.closest_quotes())
    return block_html(answer_html(text, keys), css_class="mq-answer")


def show_reply_text(answer: Answer, message_id: str) -> None:
    """What heads a reply: the bold short answer (answers only), or the closest passages' label; then the text.
    A reply that says the articles don't say shows its message in `render_abstention` instead."""
    if answer.kind == "answer" and answer.short.strip():
        st.markdown(f"**{escape_markdown(answer.short.strip())}**")
    if answer.kind == "passages":
        st.info(CLOSEST_LABEL, icon=":material/manage_search:")
    if answer.kind != "none":
        st.markdown(answer_text_html(answer, message_id), unsafe_allow_html=True)


def render_message(message: dict[str, Any], settings: Settings) -> None:
    with st.chat_message(message["role"]):
        if message.get("error"):
            show_error(message["error"])
            return
        answer = message.get("answer")
        if message["role"] != "assistant" or not isinstance(answer, Answer):
            st.markdown(escape_markdown(message["content"]))
            return
        show_reply_text(answer, message["id"])
        render_answer(answer, message, settings)


def suggestions_for(answer: Answer, settings: Settings) -> list[str]:
    """Two or three questions on names the closest passages (then the articles) hold, each one the offline
    engine answers (checked when that is the engine in use: about 20 ms a question)."""
    from mali_qa.library import list_articles

    try:
        corpus = [f"{a.title}\n{a.text}" for a in list_articles(settings)[:2000]]
        near = [p.text for p in closest_passages(answer.retrieved)]
        names = suggest_topics(near, corpus, limit=SUGGESTIONS * 2)
    except Exception:
        return []
    questions = [suggestion_question(name) for name in names]
    if settings.use_generative:
        return questions[:SUGGESTIONS]
    kept = []
    for question in questions:
        try:
            checked = mali_qa.ask(question, settings=settings)
        except MaliQAError:
            continue
        if checked.answered:
            kept.append(question)
        if len(kept) >= SUGGESTIONS:
            break
    return kept


def answer_question(question: str, settings: Settings) -> None:
    messages: list[dict[str, Any]] = st.session_state["messages"]
    history = history_for(messages)
    messages.append({"role": "user", "content": question, "id": uuid.uuid4().hex})
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))

    reply: dict[str, Any] = {"role": "assistant", "content": "", "id": uuid.uuid4().hex}
    with st.chat_message("assistant"):
        text_slot = st.empty()
        final: list[Answer] = []

        def pieces() -> Iterator[str]:
            for item in mali_qa.ask_stream(
                question, history=history, settings=settings, top_k=current_top_k(settings)
            ):
                if isinstance(item, Answer):
                    final.append(item)
                else:
                    yield escape_markdown(item)

        with shown_errors("answering", settings):
            wait_for_index(settings)
            with text_slot.container():
                st.write_stream(pieces())
            if not final:
                raise MaliQAError("the answer engine returned no answer: ask again")
        if not final:
            reply["error"] = "The question could not be answered (see the message above)."
            messages.append(reply)
            save_conversation()
            return
        answer = final[-1]
        reply.update(content=answer.text or NO_ANSWER, answer=answer)
        text_slot.empty()
        with text_slot.container():
            show_reply_text(answer, reply["id"])
        if not answer.answered:
            reply["suggestions"] = suggestions_for(answer, settings)
        messages.append(reply)
        save_conversation()
        render_answer(answer, reply, settings)


# --------------------------------------------------------------------------- the page


def chat_box(settings: Settings) -> tuple[str | None, Any]:
    """The question box at the bottom, and a slot beside it for "New conversation" (filled last, once this
    run's question is part of the conversation), so that neither ever scrolls away."""
    with st.bottom, st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        typed = st.chat_input(
            "Ask a question about the articles",
            key="question",
            max_chars=settings.max_question_chars,
        )
        new_slot = st.empty()
    return (typed if isinstance(typed, str) else None), new_slot


def chat_page() -> None:
    from page.engine import page_settings

    settings = page_settings()
    remember_browser()
    messages = restore_conversation()
    st.title("Ask the articles")
    st.caption("Questions about Russia in Mali and France's withdrawal, answered from the indexed articles.")
    typed, new_slot = chat_box(settings)
    for message in messages:
        render_message(message, settings)
    question = typed or st.session_state.pop("pending_question", None)
    if question:
        answer_question(question, settings)
    elif not messages:
        st.markdown("**Try one of these:**")
        for example in EXAMPLE_QUESTIONS:
            st.button(example, on_click=queue_question, args=(example,), icon=":material/help:")
    conversation_list()
    new_slot.button(
        "New conversation",
        key="new-conversation",
        on_click=new_conversation,
        icon=":material/add_comment:",
        disabled=not messages,
        help="Start over: the next question will not refer to this conversation.",
    )
