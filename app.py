"""mali-qa's page. `streamlit run app.py` serves the page script `page/main.py` and, as the server starts
(before any visitor arrives), begins loading the index and the model in the background, through the
lifespan hook of Streamlit's `st.App`. The page draws at once and waits for the load only when it needs it.

Run: .venv/bin/streamlit run app.py --server.headless true --server.address 127.0.0.1 \
    --browser.gatherUsageStats false
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    from page.engine import page_settings, start_loading

    try:
        start_loading(page_settings())
    except Exception as exc:  # a bad setting: the page tells its first visitor, in a sentence
        print(f"mali-qa page: not preloading ({type(exc).__name__})", file=sys.stderr, flush=True)
    yield


app = st.App(str(ROOT / "page" / "main.py"), lifespan=lifespan)
