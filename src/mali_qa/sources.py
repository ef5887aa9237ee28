"""How every front end names a source: "Title — Outlet · 19 Oct 2021", with only the parts the article
states. The page's cards and Articles table, the CLI, the HTTP citations and /v1/articles all call these,
so a source reads the same everywhere, and none shows a placeholder ("date not given", "–") or a raw id.

Standard library only, and no import of `mali_qa.types`: the types module itself uses `source_label`."""

from __future__ import annotations

import re
from datetime import date as Date
from typing import Protocol

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")
#: The title of a source that has none (never its file name or id).
UNTITLED = "Untitled article"


class Source(Protocol):
    """An Article, a Passage or a Citation: anything with a headline, an outlet and an ISO date."""

    @property
    def title(self) -> str: ...

    @property
    def outlet(self) -> str: ...

    @property
    def date(self) -> str: ...


def shown_date(value: str) -> str:
    """An ISO date as a reader places it ("19 Oct 2021"); "" for no date or anything that is not a whole
    date (ingest stores only whole dates, `ingest.metadata.iso_date`)."""
    iso = _ISO_DATE.match((value or "").strip())
    if not iso:
        return ""
    try:
        return Date(int(iso[1]), int(iso[2]), int(iso[3])).strftime("%-d %b %Y")
    except ValueError:
        return ""


def shown_title(source: Source) -> str:
    return " ".join((source.title or "").split()) or UNTITLED


def source_meta(source: Source) -> str:
    """ "Outlet · 19 Oct 2021", with whichever parts are known ("" when neither is)."""
    parts = (" ".join((source.outlet or "").split()), shown_date(source.date))
    return " · ".join(part for part in parts if part)


def source_label(source: Source) -> str:
    """ "Title — Outlet · 19 Oct 2021": the headline, then whichever of outlet and date the article states."""
    meta = source_meta(source)
    return f"{shown_title(source)} — {meta}" if meta else shown_title(source)
