"""An article's date and outlet, read only where the article states them, so that no front end shows a guess.

A date is kept only when a line states a whole date (day, month and year) or the page's own metadata gives
one (HTML), and is stored as ISO "2021-10-19". A date line without a year ("Tuesday, October 19" above a
headline) is a site's banner of the day the page was saved, not the article's date: it is left out of the
article and not taken as its date. An outlet is kept only when the article names it as its publisher (a
syndication notice "edited by Axadle Staff", a wire dateline "BAMAKO (Reuters) -", the page's site name),
never when the name is a date or only heads a promotional footer ("Kig News: Update the world's latest
breaking news...")."""

from __future__ import annotations

import re
from datetime import date as Date

from mali_qa import lexicon

# Month names and abbreviations, weekday names (data/months.txt, month_abbreviations.tsv, weekdays.txt).
_MONTHS = "|".join(re.escape(m) for m in lexicon.months() + lexicon.month_abbreviations())
_WEEKDAYS = "|".join(re.escape(d) for d in lexicon.weekdays())
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
#: A line that is only a date ("Tuesday, October 19", "19 October 2021", "Published: Oct. 19, 2021",
#: "2021-10-19"), with or without its year.
DATE_LINE = re.compile(
    rf"^\s*(?:(?:published|posted|updated|date)(?:\s+on)?\s*:?\s+)?(?:(?P<weekday>{_WEEKDAYS}),?\s+)?"
    rf"(?:(?P<month1>{_MONTHS})\.?\s+(?P<day1>{_DAY})(?:,?\s+(?P<year1>\d{{4}}))?"
    rf"|(?P<day2>{_DAY})\s+(?:of\s+)?(?P<month2>{_MONTHS})\.?(?:,?\s+(?P<year2>\d{{4}}))?"
    r"|(?P<iso>\d{4}-\d{2}-\d{2})(?:[T ][\d:.+Z-]*)?)\s*$",
    re.IGNORECASE,
)
#: The ways an article names its publisher in its own text (group 1 is the name).
_OUTLET_STATEMENTS = (
    re.compile(r"edited by ([A-Z][\w&.' -]{1,40}?) Staff", re.I),  # a syndication notice
    re.compile(r"^[A-Z][A-Z .'-]{1,40}(?:,[^()\n]{1,30})?\s*\(([A-Z][\w&. ]{1,30})\)\s+[-–—]", re.M),  # wire
)
#: Words of a footer line that advertises a site rather than naming the article's publisher.
_PROMO = re.compile(
    r"breaking news|latest news|hot news|updated news|news online|24/7|"
    r"update the world|mainstream news|updated quickly",
    re.IGNORECASE,
)


def _month_number(name: str) -> int:
    """1-12 for a month name or abbreviation ("Sept" -> 9)."""
    key = name.lower().rstrip(".")[:3]
    return next(i for i, month in enumerate(lexicon.months(), 1) if month.startswith(key))


def iso_date(text: str) -> str:
    """The ISO date ("2021-10-19") a line states in whole, or "" when it states none, gives no year, names a
    day the month does not have, or names a weekday the date does not fall on."""
    match = DATE_LINE.match(text or "")
    if not match:
        return ""
    try:
        if match["iso"]:
            stated = Date.fromisoformat(match["iso"])
        else:
            year = match["year1"] or match["year2"]
            if not year:
                return ""
            day = int(re.sub(r"\D", "", match["day1"] or match["day2"]))
            stated = Date(int(year), _month_number(match["month1"] or match["month2"]), day)
    except ValueError:
        return ""
    weekday = match["weekday"]
    if weekday and lexicon.weekdays().index(weekday.lower()) != stated.weekday():
        return ""
    return stated.isoformat()


def is_date_line(line: str) -> bool:
    """Whether a line is only a date (with or without its year)."""
    return bool(DATE_LINE.match(line))


def is_spam_outlet(name: str, raw_text: str) -> bool:
    """True when `name` occurs in the article's file only at the start of a promotional footer line."""
    name = name.strip()
    if not name or not raw_text:
        return False
    lines = [line for line in raw_text.splitlines() if name.lower() in line.lower()]
    if not lines:
        return False
    head = re.compile(rf"^\W*{re.escape(name)}\s*:", re.IGNORECASE)
    return all(head.match(line) and _PROMO.search(line) for line in lines)


def article_outlet(name: str, raw_text: str = "") -> str:
    """`name` as the article's outlet, or "" when it names none: empty, no letters, a date, or a spam
    footer's name in `raw_text` (the article's file as written)."""
    name = re.sub(r"\s+", " ", name or "").strip(" \t-–—|:,")
    if not re.search(r"[^\W\d_]", name) or is_date_line(name) or is_spam_outlet(name, raw_text):
        return ""
    return name


def stated_outlet(footer: str, lines: list[str], raw_text: str) -> str:
    """The outlet the article names as its publisher in its footer or its first or last lines (`lines`, the
    article's lines before the footer); "" when it names none."""
    edges = "\n".join(lines[:3] + lines[-3:])
    for pattern in _OUTLET_STATEMENTS:
        match = pattern.search(footer) or pattern.search(edges)
        if match:
            found = article_outlet(match.group(1), raw_text)
            if found:
                return found
    return ""
