"""The page's plain-text labels: the "[n] Title — Outlet · date" heading of a source (the same [n] as the
answer's marker, the rest from `mali_qa.sources`, as every front end shows it), an answer as plain text for the
clipboard, and the sidebar's description of the answer engine (never its key)."""

from __future__ import annotations

from mali_qa.config import Settings, server_label
from mali_qa.sources import source_label
from mali_qa.types import Answer, Citation


def source_heading(n: int, citation: Citation) -> str:
    """The plain-text label of source [n]: the same "[n]" the answer's marker shows, then the source named as
    every front end names it ("Title — Outlet · 19 Oct 2021", only the parts the article states)."""
    return f"[{n}] {source_label(citation)}"


def copy_text(answer: Answer) -> str:
    """An answer as plain text for the clipboard: the short answer, the answer, then its sources."""
    lines = [answer.short.strip()] if answer.short.strip() else []
    lines.append(answer.text.strip())
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for n, c in enumerate(answer.citations, 1):
            lines.append(source_heading(n, c))
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
