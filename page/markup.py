"""The page's HTML built from article and answer text, none of which ever becomes markup: escaping, the
highlighted quotes and passages (theme-aware colours), source cards, the article view of a citation, search
hits, the answer with its [n] markers as links to the cards, and the copy button. No Streamlit: testable alone."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence

from mali_qa.text import is_heading, split_sentences
from mali_qa.types import Citation

Span = tuple[int, int]

# Colours follow Streamlit's theme: `.stApp` carries `color-scheme: light|dark`, which CSS `light-dark()` reads.
# Each highlight sets its own text colour too, so it stays readable whatever surrounds it (WCAG AA >= 4.5:1;
# tests/test_browser.py measures it). The plain values first: a browser without light-dark() keeps them.
QUOTE_COLORS = {"light": ("#fde68a", "#1f2937"), "dark": ("#78350f", "#fefce8")}
PASSAGE_COLORS = {"light": ("#dbeafe", "#1f2937"), "dark": ("#1e3a5f", "#e0f2fe")}


def _mark_style(colors: Mapping[str, tuple[str, str]]) -> str:
    (light_bg, light_fg), (dark_bg, dark_fg) = colors["light"], colors["dark"]
    return (
        f"background-color:{light_bg};color:{light_fg};"
        f"background-color:light-dark({light_bg},{dark_bg});color:light-dark({light_fg},{dark_fg});"
        "padding:0 2px;border-radius:3px"
    )


QUOTE_STYLE = _mark_style(QUOTE_COLORS)
PASSAGE_STYLE = _mark_style(PASSAGE_COLORS)
RULE_COLOR = "light-dark(#d1d5db,#4b5563)"

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&:^=\"'])")
_MARKER = re.compile(r"\[(\d+)\]")
_MARKER_RUN = re.compile(r"(?:\s*\[\d+\])+")


def escape_markdown(text: str) -> str:
    """`text` as Markdown that renders literally: no emphasis, links, HTML, maths or directives."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    # Markdown treats a single newline as a space; keep the line breaks the text has.
    return escaped.replace("\r\n", "\n").replace("\n", "  \n")


def _escape_lines(text: str) -> str:
    """HTML-escaped text on one line (a blank line would end a Markdown HTML block), newlines as <br>."""
    return html.escape(text, quote=True).replace("\r\n", "\n").replace("\n", "<br>")


def _clip(text: str, span: Span | None) -> Span | None:
    """`span` inside `text`, without surrounding whitespace; None when nothing is left."""
    if span is None:
        return None
    n = len(text)
    start, end = max(0, min(span[0], n)), max(0, min(span[1], n))
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def highlight_html(
    text: str,
    *,
    outer: Span | None = None,
    quotes: Iterable[Span] = (),
    bold: Span | None = None,
) -> str:
    """`text` HTML-escaped, with `outer` marked as a passage, each of `quotes` marked as a quoted sentence and
    `bold` (the exact answer) in bold.

    Spans are character offsets into `text`; spans outside it are clipped, empty ones ignored; quotes are kept
    inside `outer` when it is given. The result is one line of HTML, safe for `st.markdown(...,
    unsafe_allow_html=True)`: nothing of `text` is markup.
    """
    o = _clip(text, outer)
    inner: list[Span] = []
    for span in quotes:
        clipped = _clip(text, span)
        if clipped and o:
            clipped = _clip(text, (max(clipped[0], o[0]), min(clipped[1], o[1])))
        if clipped:
            inner.append(clipped)
    b = _clip(text, bold)
    cuts = sorted({0, len(text), *(o or ()), *(b or ()), *(x for span in inner for x in span)})
    runs: list[tuple[str, bool, str]] = []  # (style, bold, escaped text), merged when alike
    for a, z in zip(cuts, cuts[1:], strict=False):
        style = ""
        if any(s <= a and z <= e for s, e in inner):
            style = QUOTE_STYLE
        elif o is not None and o[0] <= a and z <= o[1]:
            style = PASSAGE_STYLE
        strong = b is not None and b[0] <= a and z <= b[1]
        piece = _escape_lines(text[a:z])
        if runs and runs[-1][:2] == (style, strong):
            runs[-1] = (style, strong, runs[-1][2] + piece)
        else:
            runs.append((style, strong, piece))
    parts = []
    for style, strong, piece in runs:
        if strong:
            piece = f"<strong>{piece}</strong>"
        parts.append(f'<mark style="{style}">{piece}</mark>' if style else piece)
    return "".join(parts)


def block_html(inner_html: str, *, article: bool = False, css_class: str = "") -> str:
    """Wrap already-escaped HTML in a block; `article` sets a whole article off with a rule at its left."""
    style = "line-height:1.6"
    if article:
        style += f";border-left:3px solid {RULE_COLOR};padding-left:0.75rem"
    klass = f' class="{html.escape(css_class)}"' if css_class else ""
    return f'<div{klass} style="{style}">{inner_html}</div>'


# --------------------------------------------------------------------------- citations and their highlights


def _find(text: str, needle: str) -> Span | None:
    """Where `needle` occurs in `text`: exactly, else with any run of whitespace matching any other."""
    needle = needle.strip()
    if not needle:
        return None
    found = text.find(needle)
    if found >= 0:
        return found, found + len(needle)
    words = needle.split()
    match = re.search(r"\s+".join(re.escape(w) for w in words), text)
    return (match.start(), match.end()) if match else None


def quote_span(citation: Citation) -> Span | None:
    """Where the cited sentence lies inside the citation's passage text, or None when it cannot be found."""
    text, quote = citation.text, citation.quote
    if not quote:
        return None
    start = citation.quote_start - citation.start
    end = citation.quote_end - citation.start
    if 0 <= start < end <= len(text) and text[start:end] == quote:
        return start, end
    return _find(text, quote)


def cited_sentences(answer_text: str, n: int) -> list[str]:
    """The stretches of an answer followed by the marker [n] (markers removed), in order."""
    out: list[str] = []
    pos = 0
    for run in _MARKER_RUN.finditer(answer_text):
        chunk = answer_text[pos : run.start()].strip()
        pos = run.end()
        if chunk and n in {int(m) for m in _MARKER.findall(run.group(0))}:
            out.append(_MARKER.sub("", chunk).strip())
    return out


def quote_spans(citation: Citation, answer_text: str, n: int) -> list[Span]:
    """Every sentence of the passage the answer quotes with [n]: the citation's own quote and each other
    answer sentence marked [n] that the passage holds (verbatim, up to whitespace)."""
    spans: list[Span] = []
    own = quote_span(citation)
    if own:
        spans.append(own)
    for sentence in cited_sentences(answer_text, n):
        found = _find(citation.text, sentence)
        if found is None:  # a generative answer's sentence, or two quotes joined: try sentence by sentence
            for part in re.split(r"(?<=[.!?”\"])\s+", sentence):
                if len(part.split()) >= 4 and (piece := _find(citation.text, part)):
                    spans.append(piece)
        else:
            spans.append(found)
    return sorted(set(spans))


def answer_span(citation: Citation, short: str, spans: Sequence[Span]) -> Span | None:
    """The exact answer inside the passage: the citation's answer offsets when valid, else `short` found
    (case-insensitively) inside one of the quoted spans."""
    start, end = citation.answer_start - citation.start, citation.answer_end - citation.start
    if citation.answer_end > citation.answer_start and 0 <= start < end <= len(citation.text):
        return start, end
    if short.strip():
        for s, e in spans:
            found = citation.text.lower().find(short.strip().lower(), s, e)
            if found >= 0:
                return found, found + len(short.strip())
    return None


def covered(text: str, spans: Sequence[Span]) -> float:
    """The share of `text`'s non-space characters inside `spans`."""
    marked: set[int] = set()
    for s, e in spans:
        marked.update(range(max(0, s), min(len(text), e)))
    total = sum(1 for ch in text if not ch.isspace())
    inside = sum(1 for i in marked if not text[i].isspace())
    return inside / total if total else 0.0


def with_context(
    article_text: str, start: int, end: int, *, chars: int = 400, min_words: int = 12
) -> tuple[str, int]:
    """The article's text from `start` to `end` with whole sentences around it (the article's sentences, as
    `split_sentences` cuts them for passages and quotes): on each side, the fewest that make `min_words`
    words, within `chars` characters; never ending on a heading, which belongs to the text after it. Returns
    the text and its offset in the article."""
    if not (0 <= start < end <= len(article_text)):
        return "", 0
    spans = split_sentences(article_text)
    begin = start
    for s, _e in reversed([span for span in spans if start - chars <= span[0] < start]):
        begin = s
        if len(article_text[s:start].split()) >= min_words:
            break
    finish = end
    for s, e in [span for span in spans if end < span[1] <= end + chars]:
        if not is_heading(article_text, s, e):
            finish = e
        if len(article_text[end:e].split()) >= min_words:
            break
    return article_text[begin:finish], begin


def passage_html(citation: Citation, answer_text: str = "", n: int = 1, short: str = "") -> str:
    """The cited passage, escaped, with every sentence the answer quotes from it highlighted and the exact
    answer in bold."""
    spans = quote_spans(citation, answer_text, n)
    return highlight_html(citation.text, quotes=spans, bold=answer_span(citation, short, spans))


def card_html(
    citation: Citation, article_text: str, answer_text: str = "", n: int = 1, short: str = ""
) -> str:
    """A source card's text. When the quotes fill (nearly) the whole passage, a highlight would say nothing:
    the passage is shown inside its neighbouring sentences from the article, the quote highlighted."""
    spans = quote_spans(citation, answer_text, n)
    if covered(citation.text, spans) < 0.9 or not article_text:
        return highlight_html(citation.text, quotes=spans, bold=answer_span(citation, short, spans))
    where = article_spans(article_text, citation.text, citation.start, citation.end)
    if where is None:
        return highlight_html(citation.text, quotes=spans, bold=answer_span(citation, short, spans))
    context, offset = with_context(article_text, *where)
    shift = where[0] - offset
    moved = [(s + shift, e + shift) for s, e in spans]
    bold = answer_span(citation, short, spans)
    return highlight_html(context, quotes=moved, bold=(bold[0] + shift, bold[1] + shift) if bold else None)


def article_spans(article_text: str, passage_text: str, start: int, end: int) -> Span | None:
    """Where a passage lies in its article: the recorded offsets when they match, else a search."""
    if 0 <= start < end <= len(article_text) and article_text[start:end] == passage_text:
        return start, end
    return _find(article_text, passage_text) if passage_text else None


def article_html_for_citation(
    article_text: str, citation: Citation, answer_text: str = "", n: int = 1
) -> str:
    """A whole article, escaped, with the cited passage marked and the sentences quoted from it highlighted."""
    outer = article_spans(article_text, citation.text, citation.start, citation.end)
    quotes: list[Span] = []
    if outer is not None:
        quotes = [(s + outer[0], e + outer[0]) for s, e in quote_spans(citation, answer_text, n)]
    elif citation.quote:
        found = article_spans(article_text, citation.quote, citation.quote_start, citation.quote_end)
        quotes = [found] if found else []
    return highlight_html(article_text, outer=outer, quotes=quotes)


def search_html(text: str, term: str, *, limit: int = 500) -> str:
    """`text` escaped, with every case-insensitive occurrence of `term` highlighted (at most `limit`)."""
    term = term.strip()
    if not term:
        return _escape_lines(text)
    spans = [m.span() for m in re.finditer(re.escape(term), text, flags=re.IGNORECASE)][:limit]
    return highlight_html(text, quotes=spans)


def count_matches(text: str, term: str) -> int:
    term = term.strip()
    return len(re.findall(re.escape(term), text, flags=re.IGNORECASE)) if term else 0


# --------------------------------------------------------------------------- the answer


def answer_html(text: str, card_keys: Mapping[int, str]) -> str:
    """The answer, escaped, its [n] markers turned into links to the source cards (`card_keys[n]` is the card's
    Streamlit key; the page's script scrolls to it and opens it). Markers without a card stay plain text."""
    parts: list[str] = []
    pos = 0
    for match in _MARKER.finditer(text):
        parts.append(_escape_lines(text[pos : match.start()]))
        n = int(match.group(1))
        key = card_keys.get(n)
        if key:
            parts.append(
                f'<a class="mq-cite" href="#{html.escape(key)}" data-card="{html.escape(key)}" '
                f'title="Show source {n}">[{n}]</a>'
            )
        else:
            parts.append(html.escape(match.group(0)))
        pos = match.end()
    parts.append(_escape_lines(text[pos:]))
    return "".join(parts)


def copy_button_html(text: str, *, label: str = "Copy answer") -> str:
    """A button the page's script copies `text` from (held escaped in an attribute, never as markup)."""
    held = html.escape(text, quote=True).replace("\r\n", "\n").replace("\n", "&#10;")  # one line of HTML
    return (
        f'<button type="button" class="mq-copy" data-copy="{held}" '
        f'title="Copy the answer and its sources">{html.escape(label)}</button>'
    )
