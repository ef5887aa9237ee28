"""The page's plain-text labels: dates a reader can place, bylines, the "[n] title — outlet · date" heading of a
source (the same [n] as the answer's marker), an answer as plain text for the clipboard, and the sidebar's
description of the answer engine (never its key)."""

from __future__ import annotations

import re
from datetime import date as Date

from mali_qa.config import Settings, server_label
from mali_qa.types import Answer

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
NO_DATE = "date not given"


def display_date(value: str) -> str:
    """A date a reader can place: ISO dates as "15 Aug 2022", dates without a year as "date not given"."""
    value = (value or "").strip()
    iso = _ISO_DATE.match(value)
    if iso:
        try:
            return Date(int(iso[1]), int(iso[2]), int(iso[3])).strftime("%-d %b %Y")
        except ValueError:
            return NO_DATE
    return value if _YEAR.search(value) else NO_DATE


def byline(outlet: str, date: str) -> str:
    """ "outlet · date", with whichever parts are known ("" when neither is)."""
    return " · ".join(part.strip() for part in (outlet, date) if part and part.strip())


def source_heading(n: int, title: str, outlet: str = "", date: str = "") -> str:
    """The plain-text label of source [n]: the same "[n]" the answer's marker shows."""
    line = f"[{n}] {title.strip() or 'Untitled article'}"
    meta = byline(outlet, date)
    return f"{line} — {meta}" if meta else line


def copy_text(answer: Answer) -> str:
    """An answer as plain text for the clipboard: the short answer, the answer, then its sources."""
    lines = [answer.short.strip()] if answer.short.strip() else []
    lines.append(answer.text.strip())
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for n, c in enumerate(answer.citations, 1):
            lines.append(source_heading(n, c.title, c.outlet, display_date(c.date) if c.date else ""))
    return "\n".join(lines)


def engine_lines(settings: Settings) -> list[str]:
    """How the sidebar describes the answer engine (plain text: the sidebar escapes it); never the API key,
    nor the credentials, path or query of the server's URL (`server_label`)."""
    if settings.use_generative:
        server = server_label(settings) if settings.openai_base_url else "api.openai.com (OpenAI)"
        return [f"Generative: {settings.chat_model}", f"Server: {server}"]
    return ["Offline: extractive, every sentence a verbatim quote from the articles"]


def written_answers_hint(settings: Settings) -> str:
    """What gives written answers rather than quotes ("" when a model already writes them): a key, or a local
    OpenAI-compatible server. Plain text: the caller escapes it (the sidebar, the closest-passages reply)."""
    if settings.use_generative:
        return ""
    engine = "" if settings.engine == "auto" else " with MALI_QA_ENGINE=auto"
    return (
        "Written answers: set OPENAI_API_KEY, or OPENAI_BASE_URL for a local OpenAI-compatible server "
        f"(Ollama, llama.cpp), in .env{engine}."
    )
