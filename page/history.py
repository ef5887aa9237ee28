"""The chat's conversations beyond this session: the sidebar's list of this browser's conversations (open,
rename, delete), the browser's secret (a cookie the page sets: `page.saved` reads and writes only the
conversations made with it), and starting a new conversation."""

from __future__ import annotations

import json
import sqlite3

import streamlit as st

from page.markup import escape_markdown
from page.saved import OWNER_SECRET, SavedConversations, new_conversation_id, new_owner_secret

#: The cookie holding this browser's secret: the conversations it made are read with it, and only with it.
OWNER_COOKIE = "mq_owner"
OWNER_COOKIE_SCRIPT = """<script>
if (!document.cookie.split('; ').some((c) => c.startsWith('mq_owner='))) {
  document.cookie = 'mq_owner=' + %s + '; path=/; max-age=31536000; SameSite=Strict'
    + (location.protocol === 'https:' ? '; Secure' : '');
}
</script>"""


def saved_conversations() -> SavedConversations:
    from page.engine import page_settings

    return SavedConversations(page_settings().conversations_dir)


def owner_cookie() -> str:
    """The secret this browser's cookie holds ("" when none; AppTest's context has no real cookies)."""
    cookie = st.context.cookies.get(OWNER_COOKIE, "")
    return cookie if isinstance(cookie, str) and OWNER_SECRET.match(cookie) else ""


def browser_owner() -> str:
    """This browser's secret: its cookie, else the one made for this session (`remember_browser` sets it)."""
    cookie = owner_cookie()
    if cookie:
        return cookie
    owner: str = st.session_state.setdefault("owner", new_owner_secret())
    return owner


def remember_browser() -> None:
    """Once per run: a browser without the cookie gets this session's secret as its cookie."""
    if not owner_cookie():
        with st.container(key="mq-owner"):
            st.html(OWNER_COOKIE_SCRIPT % json.dumps(browser_owner()), unsafe_allow_javascript=True)


def new_conversation() -> None:
    st.session_state["messages"] = []
    st.session_state["conversation"] = new_conversation_id()
    st.session_state.pop("pending_question", None)
    st.query_params.pop("c", None)


def open_conversation(conversation_id: str) -> None:
    messages = saved_conversations().get(conversation_id, browser_owner())
    if messages is None:
        st.toast("That conversation is gone.", icon=":material/error:")
        return
    st.session_state["messages"] = messages
    st.session_state["conversation"] = conversation_id
    st.session_state.pop("pending_question", None)
    st.query_params["c"] = conversation_id


def rename_conversation(conversation_id: str, key: str) -> None:
    saved_conversations().rename(conversation_id, browser_owner(), str(st.session_state.get(key, "")))


def delete_conversation(conversation_id: str) -> None:
    saved_conversations().delete(conversation_id, browser_owner())
    if st.session_state.get("conversation") == conversation_id:
        new_conversation()


def conversation_list() -> None:
    """The sidebar's list of this browser's conversations (open one; rename or delete the open one)."""
    with st.sidebar:
        st.subheader("Conversations")
        try:
            items = saved_conversations().listing(browser_owner())
        except (OSError, sqlite3.Error):
            st.caption("The saved conversations cannot be read.")
            return
        if not items:
            st.caption("Your conversations will be listed here, for this browser only.")
            return
        current = st.session_state.get("conversation")
        for item in items:
            st.button(
                escape_markdown(item.title),
                key=f"open-{item.id}",
                on_click=open_conversation,
                args=(item.id,),
                type="primary" if item.id == current else "tertiary",
                icon=":material/chat:",
                width="stretch",
            )
        chosen = next((item for item in items if item.id == current), None)
        if chosen is not None:
            with st.expander("Rename or delete this conversation", icon=":material/edit:"):
                key = f"title-{chosen.id}"
                st.text_input(
                    "Title", value=chosen.title, key=key, on_change=rename_conversation, args=(chosen.id, key)
                )
                st.button(
                    "Delete this conversation",
                    key=f"delete-{chosen.id}",
                    on_click=delete_conversation,
                    args=(chosen.id,),
                    icon=":material/delete:",
                )
