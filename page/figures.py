"""The Evaluation page's figures, each said what it is: held out (cross-validated, `eval/bank/fit_report.json`)
and first sight (the newest held-out batch, scored once, `eval/heldout/first_sight_batch*_learned.txt`) come
first; the in-sample report of `mali-qa eval` comes second. Pure functions, no Streamlit."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The figures shown for each set, as (label, key in the report): one more kind of figure is one more line.
#: The three kinds of reply first: is an answer, when given, right; how many answerable questions get a
#: right answer; is the evidence shown (in an answer or the closest passages); are unanswerables answered;
#: is the bold short answer right when shown.
FIGURES: tuple[tuple[str, str], ...] = (
    ("Answers right / given", "precision"),
    ("Answer accuracy", "answer_accuracy"),
    ("Evidence shown", "evidence_shown"),
    ("Unanswerables answered", "unanswerable_answered"),
    ("Short answer right", "short_precision"),
    ("Citation hit", "citation_hit_rate"),
)
#: What a table cell shows where a figure does not apply (never "None").
NOT_APPLICABLE = "–"
_SCORE_LINE = re.compile(
    r"accuracy (?P<a>\d+)/(?P<an>\d+) \(\d+%\), abstain (?P<b>\d+)/(?P<bn>\d+) \(\d+%\), cite-hit (?P<c>\d+)%"
)
_KINDS_LINE = re.compile(
    r"kinds: answers right (?P<r>\d+)/(?P<g>\d+) \(\d+%\), evidence shown (?P<e>\d+)/(?P<en>\d+) \(\d+%\), "
    r"unanswerables answered (?P<u>\d+)/(?P<un>\d+)(?:, short answer right (?P<s>\d+)/(?P<sn>\d+))?"
)
_BATCH = re.compile(r"first_sight_batch(\d+)_learned\.txt$")


@dataclass(frozen=True)
class FigureSet:
    """One set's figures (keys of FIGURES, None where not measured) and the sentence saying what they are."""

    title: str
    note: str
    values: Mapping[str, float | None] = field(default_factory=dict)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """ "1 rated answer", "2 rated answers"."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"


def figure_text(value: Any, *, unit: str = "") -> str:
    """A figure as a table or metric shows it: two decimals, an integer with its unit, or "–" (never "None")."""
    if value is None or (isinstance(value, float) and value != value):
        return NOT_APPLICABLE
    if unit:
        return f"{value:.0f} {unit}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def held_out(fit_report: Path) -> FigureSet | None:
    """The cross-validated figures of the shipped engine's fit, or None when the file is missing or unreadable."""
    try:
        data = json.loads(fit_report.read_text(encoding="utf-8"))
        figures = data["cross_validated"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(figures, dict):
        return None
    items, repeats = figures.get("items"), data.get("repeats")
    note = (
        f"Held out: cross-validated over {plural(int(items or 0), 'question')}"
        + (f" ({plural(int(repeats), 'dealing')})" if isinstance(repeats, int) else "")
        + "; each question scored by an engine never fitted on it."
    )
    return FigureSet("Held out", note, {key: _number(figures.get(key)) for _, key in FIGURES})


def first_sight(heldout_dir: Path) -> FigureSet | None:
    """The newest held-out batch's first-sight score (the learned engine), or None when there is none."""
    batches = sorted(
        ((int(m.group(1)), path) for path in _listing(heldout_dir) if (m := _BATCH.search(path.name))),
        reverse=True,
    )
    for batch, path in batches:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found = _SCORE_LINE.search(text)
        if found is None:
            continue
        answered, answerable = int(found["a"]), int(found["an"])
        abstained, unanswerable = int(found["b"]), int(found["bn"])
        note = (
            f"First sight: held-out batch {batch} ({plural(answerable + unanswerable, 'question')}), "
            "never fitted on, scored once as written."
        )
        values = {
            "answer_accuracy": answered / answerable if answerable else None,
            "abstention_accuracy": abstained / unanswerable if unanswerable else None,
            "citation_hit_rate": int(found["c"]) / 100,
        }
        if kinds := _KINDS_LINE.search(text):  # the three kinds of reply, in runs since issue 26
            values.update(
                precision=_ratio(kinds["r"], kinds["g"]),
                evidence_shown=_ratio(kinds["e"], kinds["en"]),
                unanswerable_answered=_ratio(kinds["u"], kinds["un"]),
                short_precision=_ratio(kinds["s"], kinds["sn"]),
            )
        return FigureSet("First sight", note, values)
    return None


def in_sample_note(report: Mapping[str, Any]) -> str:
    gold = report.get("gold", "the gold set")
    return f"In sample: {gold}, questions the engine was fitted on, so these figures flatter it."


def figure_row(figures: FigureSet | Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, shown value) for each of FIGURES."""
    values = figures.values if isinstance(figures, FigureSet) else figures
    return [(label, figure_text(values.get(key))) for label, key in FIGURES]


def table_cells(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows whose missing figures read "–" and whose numbers keep two decimals."""
    return [{name: figure_text(value) for name, value in row.items()} for row in rows]


def _ratio(part: str | None, whole: str | None) -> float | None:
    return int(part) / int(whole) if part and whole and int(whole) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _listing(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []
