"""The mali-qa page, the script `app.py` serves: chat with cited sources, browse the articles, read the latest
evaluation report. Only Streamlit and light modules are imported before the page is drawn; the index and
the model load in the background (page/engine.py) and the first run waits for them last."""

from __future__ import annotations

import os

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import streamlit as st

from mali_qa.config import Settings
from page.browse import articles_page, evaluation_page
from page.chat import chat_page
from page.common import install_page_style, shown_errors
from page.engine import page_settings, start_loading
from page.sidebar import index_box, sidebar


def main() -> None:
    page = st.navigation(
        [
            st.Page(chat_page, title="Chat", icon=":material/forum:", url_path="chat", default=True),
            st.Page(articles_page, title="Articles", icon=":material/article:", url_path="articles"),
            st.Page(evaluation_page, title="Evaluation", icon=":material/insights:", url_path="evaluation"),
        ]
    )
    # One page config per run, the page known: the Articles page is wide, for whole headlines and dates.
    wide = page.url_path == "articles"
    st.set_page_config(
        page_title="mali-qa", page_icon=":material/forum:", layout="wide" if wide else "centered"
    )
    install_page_style()
    settings: Settings | None = None
    with shown_errors("reading the settings"):
        settings = page_settings()
        start_loading(settings)  # under way already when app.py started it with the server
    if settings is None:
        st.stop()
    page.run()  # first: the page draws before anything waits for the index
    box = sidebar(settings)
    index_box(box, settings)  # last: waits for the index (loading since the server started)


main()
