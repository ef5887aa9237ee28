"""The sidebar: the answer engine (never the key), the index, retrieval depth and, for an admin only,
re-ingest (after a confirmation) and upload. It names folders relative to the checkout, never absolutely."""

from __future__ import annotations

import streamlit as st

from mali_qa.config import Settings
from mali_qa.errors import MaliQAError
from page.chat import TOP_K_MAX
from page.common import ROOT, shown_errors, wait_for_index
from page.display import admin_enabled, plain_sentence, short_location, short_path
from page.labels import engine_lines, written_answers_hint
from page.markup import escape_markdown

UPLOAD_TYPES = ["txt", "md", "html"]
MAX_UPLOAD_MB = 2  # mali_qa.library.MAX_UPLOAD_BYTES, without importing the library before first paint


def is_admin(settings: Settings) -> bool:
    return admin_enabled(settings.admin, str(st.get_option("server.address") or ""))


def sidebar(settings: Settings) -> st.delta_generator.DeltaGenerator:
    """Draw the sidebar; returns the box that `index_box` fills once the index is loaded."""
    with st.sidebar:
        st.subheader("Answer engine")
        for line in engine_lines(settings):
            st.caption(escape_markdown(line))
        if hint := written_answers_hint(settings):
            st.caption(escape_markdown(hint))
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
        if is_admin(settings):
            admin_tools(settings)
    return info_box


def index_box(box: st.delta_generator.DeltaGenerator, settings: Settings) -> None:
    """What the index holds, once it is loaded (the last thing a first run waits for)."""
    from mali_qa.library import index_info

    with box, shown_errors("reading the index", settings):
        wait_for_index(settings)
        info = index_info(settings)
        st.markdown(f"**{info.articles}** articles · **{info.passages}** passages")
        built = info.built_at.replace("T", " ").split("+")[0].split(".")[0] if info.built_at else "unknown"
        where = short_location(info.location, ROOT)
        if where.startswith("Chroma server") and not is_admin(settings):
            where = "Chroma server"
        st.caption(escape_markdown(f"Built {built} UTC · {where}"))


def admin_tools(settings: Settings) -> None:
    """Re-ingest (asks first) and upload; the library is imported only when one is used."""
    folder = short_path(settings.seeds_dir, ROOT)
    st.subheader("Admin")
    if not st.session_state.get("confirm_reingest"):
        st.button(
            f"Re-ingest {folder}/",
            icon=":material/sync:",
            help=f"Index new and changed articles of {folder}/, drop deleted ones (asks first).",
            width="stretch",
            on_click=lambda: st.session_state.update(confirm_reingest=True),
        )
    else:
        st.warning(f"Re-index the articles of {folder}/ now? Questions wait until it is done.")
        yes, no = st.columns(2)
        go = yes.button("Re-ingest", type="primary", icon=":material/sync:", width="stretch")
        no.button("Cancel", width="stretch", on_click=lambda: st.session_state.update(confirm_reingest=False))
        if go:
            from mali_qa.library import reingest

            st.session_state["confirm_reingest"] = False
            with shown_errors("re-ingesting the articles", settings), st.spinner("Re-ingesting…"):
                report = reingest(settings)
                st.success(report.summary())
                for warning in report.warnings:
                    st.warning(plain_sentence(warning, ROOT))

    with st.form("upload", clear_on_submit=True, border=False):
        upload = st.file_uploader(
            "Add an article (.txt, .md, .html)",
            type=UPLOAD_TYPES,
            max_upload_size=MAX_UPLOAD_MB,
            help=f"Saved into {folder}/ and indexed; at most {MAX_UPLOAD_MB} MB.",
        )
        submitted = st.form_submit_button("Add and index", icon=":material/upload_file:")
    if submitted:
        if upload is None:
            st.warning("Choose a file to add first.")
            return
        from mali_qa.library import MAX_UPLOAD_BYTES, add_article

        with shown_errors("adding the article", settings), st.spinner("Indexing…"):
            data = upload.getvalue()
            if len(data) > MAX_UPLOAD_BYTES:
                raise MaliQAError(
                    f"{upload.name} is over the {MAX_UPLOAD_MB} MB upload limit: split or shorten it"
                )
            path, report = add_article(upload.name, data, settings)
            st.success(f"Added {path.name}. {report.summary()}")
            for warning in report.warnings:
                st.warning(plain_sentence(warning, ROOT))
