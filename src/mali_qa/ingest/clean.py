"""Turns a raw article file's text into a clean Article: headline, date, outlet, body without web boilerplate."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mali_qa.ingest.metadata import article_outlet, is_date_line, iso_date, stated_outlet

# Each kind of web boilerplate found in article pages, as whole-line patterns.
BOILERPLATE_LINES: dict[str, re.Pattern[str]] = {
    "accessibility": re.compile(r"^(accessibility links|skip to (main )?content)$", re.I),
    "breaking_news_banner": re.compile(r"^breaking news$", re.I),
    "source_link": re.compile(r"^source link$", re.I),
    "comments_notice": re.compile(
        r"^(comments are closed\.?|leave a (reply|comment)|your email address will not be published\..*)$",
        re.I,
    ),
    "related_articles": re.compile(
        r"^(related (articles|posts|stories)|check also|read more|see also)$", re.I
    ),
    "back_to_top": re.compile(r"^back to top( button)?$", re.I),
    "text_size_widget": re.compile(r"^(xs|sm|md|lg|xl|a\+|a-)$", re.I),
    "share_widget": re.compile(r"^(share|share this|tweet|print|email|see them|forum)$", re.I),
    "cookie_notice": re.compile(r"^(this website uses cookies|we use cookies|by using this site).*$", re.I),
    "syndication_disclaimer": re.compile(
        r"^(post disclaimer|\(this story .*syndicate.*|.*auto-generated from (a|the) syndicate(d)? feed.*)$",
        re.I,
    ),
}
# A line after which everything is page footer, never article text.
_FOOTER_START = re.compile(
    r"^(source link|post disclaimer|leave a (reply|comment)|comments are closed\.?)$", re.I
)
_TITLE_SECTION = re.compile(r"\s+[|–—-]\s+[A-Z][\w ]{0,30}$")


#: A short quoted heading or pull quote run into the sentence after it when the page was flattened to text
#: ("“Mercenaries” The situation in Mali has…"): a quote of at most RUN_IN_WORDS words without a sentence
#: mark, then a capital that opens the sentence.
RUN_IN_WORDS = 4
_RUN_IN_HEADING = re.compile(r"^([“\"‘][^“”\"‘’.!?:;,\n]{1,60}[”\"’])[ \t]+(?=[“\"‘(]?[A-Z])")
#: The sentence a heading was run into has at least this many words (a quoted word followed by two more
#: capitals is a name: "“Barkhane” Force Commander").
_RUN_IN_SENTENCE_WORDS = 6


@dataclass(frozen=True)
class CleanedText:
    title: str
    body: str
    date: str
    outlet: str
    removed: tuple[str, ...]  # the boilerplate kinds that were found and removed


def boilerplate_kind(line: str) -> str | None:
    """The kind of web boilerplate a whole line is, or None when it is article text."""
    stripped = line.strip()
    for kind, pattern in BOILERPLATE_LINES.items():
        if pattern.match(stripped):
            return kind
    return None


def _paragraphs(raw: str) -> list[str]:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").replace("\ufeff", "")
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    return [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]


def split_run_in_heading(line: str) -> list[str]:
    """A paragraph that opens on a short quoted heading run into its first sentence, as two paragraphs: the
    heading and the text, each verbatim. Any other paragraph alone. The heading then stands on its own line,
    where `text.is_heading` knows it for one and no quote or passage starts inside it."""
    match = _RUN_IN_HEADING.match(line)
    if not match or len(match.group(1).split()) > RUN_IN_WORDS:
        return [line]
    rest = line[match.end() :]
    if len(rest.split()) < _RUN_IN_SENTENCE_WORDS:
        return [line]
    return [match.group(1), rest]


def _is_headline(line: str) -> bool:
    """A headline is short and is not a sentence: no closing full stop, at most 30 words."""
    n = len(line.split())
    return 1 <= n <= 30 and not re.search(r"[.!?:;,]$", line) and not is_date_line(line)


def clean_text(raw: str, *, title_hint: str = "", date_hint: str = "", outlet_hint: str = "") -> CleanedText:
    """Split a raw article into headline, date, outlet and a body of paragraphs separated by blank lines. The
    date (ISO) and the outlet are those the article states (`ingest.metadata`), "" where it states none."""
    lines = _paragraphs(raw)
    removed: list[str] = []
    footer = ""
    for i, line in enumerate(lines):
        if _FOOTER_START.match(line):
            footer = "\n".join(lines[i:])
            removed.append(boilerplate_kind(line) or "footer")
            lines = lines[:i]
            break
    outlet = article_outlet(outlet_hint, raw) or stated_outlet(footer, [x for x in lines if x], raw)
    kept: list[str] = []
    date = iso_date(date_hint)
    for line in lines:
        if not line:
            continue
        kind = boilerplate_kind(line)
        if kind:
            removed.append(kind)
            continue
        if kept and line == kept[-1]:  # a caption or paragraph repeated verbatim
            removed.append("duplicate_paragraph")
            continue
        if is_date_line(line) and len(kept) <= 1:  # the header's date line: the date when it is whole
            date = date or iso_date(line)
            removed.append("date_line")
            continue
        kept.extend(split_run_in_heading(line))
    title = title_hint.strip()
    if not title and len(kept) > 1 and _is_headline(kept[0]):
        title, kept = kept[0], kept[1:]  # never the only paragraph: that is the article
    elif kept and kept[0].strip() == title:
        kept = kept[1:]
    title = _TITLE_SECTION.sub("", title).strip()
    return CleanedText(title=title, body="\n\n".join(kept), date=date, outlet=outlet, removed=tuple(removed))


#: Longest emphasized run (`*...*`, `**...**`) unwrapped: emphasis marks a phrase, and the bound keeps
#: these patterns linear on a line full of unmatched marks.
_EMPHASIS_CHARS = 120


def markdown_to_text(raw: str) -> str:
    """Plain text of a Markdown article: headings, emphasis, links and images reduced to their words.
    Every pattern stops at the next bracket, parenthesis or line end: linear time on any file."""
    text = re.sub(r"!\[[^\]\[]*\]\([^()]*\)", "", raw)
    text = re.sub(r"\[([^\]\[]+)\]\([^()]*\)", r"\1", text)
    text = re.sub(r"^[^\S\n]{0,3}#{1,6}[^\S\n]*", "", text, flags=re.M)
    text = re.sub(r"^[^\S\n]{0,3}>[^\S\n]?", "", text, flags=re.M)
    text = re.sub(rf"(\*\*|__)(.{{1,{_EMPHASIS_CHARS}}}?)\1", r"\2", text)
    text = re.sub(rf"(?<![\w*])[*_](?!\s)(.{{1,{_EMPHASIS_CHARS}}}?)(?<!\s)[*_](?![\w*])", r"\1", text)
    return re.sub(r"^[^\S\n]*[-*+][^\S\n]+", "", text, flags=re.M)
