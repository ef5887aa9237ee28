"""Pure helpers of the Streamlit page (app.py): escaping, highlighting, source labels and the chat history."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mali_qa.config import Settings
from mali_qa.types import Citation, Passage, Turn

#: Colours of the highlights: the passage inside a whole article, and the cited sentence.
PASSAGE_STYLE = "background-color:#dbeafe;color:inherit;padding:0 1px;border-radius:2px"
QUOTE_STYLE = "background-color:#fde68a;color:inherit;padding:0 1px;border-radius:2px"

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&:^=\"'])")


def escape_markdown(text: str) -> str:
    """`text` as Markdown that renders literally: no emphasis, links, HTML, maths or directives."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    # Markdown treats a single newline as a space; keep the line breaks the text has.
    return escaped.replace("\r\n", "\n").replace("\n", "  \n")


def _escape_lines(text: str) -> str:
    """HTML-escaped text on one line (a blank line would end a Markdown HTML block), newlines as <br>."""
    return html.escape(text, quote=True).replace("\r\n", "\n").replace("\n", "<br>")


def highlight_html(
    text: str,
    *,
    outer: tuple[int, int] | None = None,
    inner: tuple[int, int] | None = None,
) -> str:
    """`text` HTML-escaped, with the span `outer` marked as a passage and `inner` marked as the quote.

    Spans are character offsets into `text`; spans outside it are clipped, empty ones ignored. The result is
    a single line of HTML, safe for `st.markdown(..., unsafe_allow_html=True)`: nothing of `text` is markup.
    """
    n = len(text)

    def clip(span: tuple[int, int] | None) -> tuple[int, int] | None:
        if span is None:
            return None
        start, end = max(0, min(span[0], n)), max(0, min(span[1], n))
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        return (start, end) if start < end else None

    o, i = clip(outer), clip(inner)
    if o is not None and i is not None:
        i = clip((max(i[0], o[0]), min(i[1], o[1])))
    cuts = sorted({0, n, *(o or ()), *(i or ())})
    parts: list[str] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        piece = _escape_lines(text[a:b])
        if i is not None and i[0] <= a and b <= i[1]:
            piece = f'<mark style="{QUOTE_STYLE}">{piece}</mark>'
        elif o is not None and o[0] <= a and b <= o[1]:
            piece = f'<mark style="{PASSAGE_STYLE}">{piece}</mark>'
        parts.append(piece)
    return "".join(parts)


def block_html(inner_html: str, *, article: bool = False) -> str:
    """Wrap already-escaped HTML in a block; `article` sets a whole article off with a rule at its left."""
    style = "line-height:1.55"
    if article:
        style += ";border-left:3px solid #d1d5db;padding-left:0.75rem"
    return f'<div style="{style}">{inner_html}</div>'


def short_location(location: str, root: Path) -> str:
    """The index location, relative to the checkout when inside it ("vectorstore/")."""
    try:
        return str(Path(location).resolve().relative_to(root.resolve())) + "/"
    except (ValueError, OSError):
        return location


def quote_span(citation: Citation) -> tuple[int, int] | None:
    """Where the cited sentence lies inside the citation's passage text, or None when it cannot be found."""
    text, quote = citation.text, citation.quote
    if not quote:
        return None
    start = citation.quote_start - citation.start
    end = citation.quote_end - citation.start
    if 0 <= start < end <= len(text) and text[start:end] == quote:
        return start, end
    found = text.find(quote)
    if found >= 0:
        return found, found + len(quote)
    return None


def passage_html(citation: Citation) -> str:
    """The cited passage, escaped, with the cited sentence highlighted."""
    return highlight_html(citation.text, inner=quote_span(citation))


def article_spans(article_text: str, passage_text: str, start: int, end: int) -> tuple[int, int] | None:
    """Where a passage lies in its article: the recorded offsets when they match, else a search."""
    if 0 <= start < end <= len(article_text) and article_text[start:end] == passage_text:
        return start, end
    found = article_text.find(passage_text) if passage_text else -1
    if found >= 0:
        return found, found + len(passage_text)
    return None


def article_html_for_citation(article_text: str, citation: Citation) -> str:
    """A whole article, escaped, with the cited passage marked and its cited sentence highlighted."""
    outer = article_spans(article_text, citation.text, citation.start, citation.end)
    inner: tuple[int, int] | None = None
    if citation.quote:
        inner = article_spans(article_text, citation.quote, citation.quote_start, citation.quote_end)
    return highlight_html(article_text, outer=outer, inner=inner)


def article_html_for_passage(article_text: str, passage: Passage) -> str:
    """A whole article, escaped, with one passage marked."""
    outer = article_spans(article_text, passage.text, passage.start, passage.end)
    return highlight_html(article_text, outer=outer)


def search_html(text: str, term: str, *, limit: int = 500) -> str:
    """`text` escaped, with every case-insensitive occurrence of `term` highlighted (at most `limit`)."""
    term = term.strip()
    if not term:
        return _escape_lines(text)
    parts: list[str] = []
    pos = 0
    for count, match in enumerate(re.finditer(re.escape(term), text, flags=re.IGNORECASE)):
        if count >= limit:
            break
        parts.append(_escape_lines(text[pos : match.start()]))
        parts.append(f'<mark style="{QUOTE_STYLE}">{_escape_lines(match.group(0))}</mark>')
        pos = match.end()
    parts.append(_escape_lines(text[pos:]))
    return "".join(parts)


def count_matches(text: str, term: str) -> int:
    term = term.strip()
    return len(re.findall(re.escape(term), text, flags=re.IGNORECASE)) if term else 0


def byline(outlet: str, date: str) -> str:
    """ "outlet · date", with whichever parts are known ("" when neither is)."""
    return " · ".join(part.strip() for part in (outlet, date) if part and part.strip())


def source_heading(n: int, title: str, outlet: str = "", date: str = "") -> str:
    """The plain-text label of source [n]: the same "[n]" the answer's marker shows."""
    line = f"[{n}] {title.strip() or 'Untitled article'}"
    meta = byline(outlet, date)
    return f"{line} — {meta}" if meta else line


def history_for(messages: Iterable[Mapping[str, Any]]) -> list[Turn]:
    """The conversation for `ask_stream(history=...)`: answered exchanges only, failed turns left out.

    `messages` alternate {"role": "user", "content": ...} and {"role": "assistant", "content": ...,
    "error": optional message}; a user turn whose reply failed is dropped together with the reply.
    """
    turns: list[Turn] = []
    pending: Turn | None = None
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if not isinstance(content, str):
            continue
        if role == "user":
            pending = {"role": "user", "content": content}
        elif role == "assistant" and pending is not None:
            if not message.get("error") and content.strip():
                turns.extend([pending, {"role": "assistant", "content": content}])
            pending = None
    return turns


def engine_lines(settings: Settings) -> list[str]:
    """How the sidebar describes the answer engine; never includes the API key."""
    if settings.use_generative:
        server = settings.openai_base_url or "api.openai.com (OpenAI)"
        return [f"Generative: `{settings.chat_model}`", f"Server: {server}"]
    return ["Offline: extractive, every sentence a verbatim quote from the articles"]


def closest_passages(passages: Sequence[Passage], limit: int = 5) -> list[Passage]:
    """The passages an abstaining answer looked at, in retrieval order (best first), one per distinct text."""
    seen: set[str] = set()
    out: list[Passage] = []
    for passage in passages:
        if passage.text in seen:
            continue
        seen.add(passage.text)
        out.append(passage)
        if len(out) >= limit:
            break
    return out
