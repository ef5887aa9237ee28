"""Pure helpers of the page for what it says around the answers: suggested questions, errors as plain
sentences without server paths, the admin switch, the evaluation report."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mali_qa.names import topics

# --------------------------------------------------------------------------- suggestions


def suggest_topics(near: Sequence[str], corpus: Sequence[str], *, limit: int = 3) -> list[str]:
    """Names to suggest asking about after an abstention: those of the closest passages `near` first, then the
    corpus's most widespread ones; never a name every article holds (too broad), never one inside another."""
    lowercase_words = {w for text in corpus for w in re.findall(r"\b[a-z][a-z’'-]+\b", text)}
    doc_freq: Counter[str] = Counter()
    for text in corpus:
        doc_freq.update(set(topics(text, lowercase_words)))
    near_count: Counter[str] = Counter(t for text in near for t in topics(text, lowercase_words))
    everywhere = len(corpus) if len(corpus) > 2 else len(corpus) + 1

    def score(name: str) -> tuple[int, int, int]:
        return near_count[name], doc_freq[name], len(name.split())

    candidates = sorted(
        (t for t in set(near_count) | set(doc_freq) if doc_freq[t] < everywhere and doc_freq[t] >= 1),
        key=lambda t: (-score(t)[0] * 3 - score(t)[1], -score(t)[2], t),
    )
    chosen: list[str] = []
    for name in candidates:
        if any(name.lower() in c.lower() or c.lower() in name.lower() for c in chosen):
            continue
        chosen.append(name)
        if len(chosen) >= limit:
            break
    return [_with_article(name, corpus) for name in chosen]


def _with_article(name: str, corpus: Sequence[str]) -> str:
    """ "the Wagner Group" when the articles mostly write it so, else the name as it is ("Timbuktu")."""
    total = sum(len(re.findall(rf"\b{re.escape(name)}\b", text)) for text in corpus)
    with_the = sum(len(re.findall(rf"\b[Tt]he {re.escape(name)}\b", text)) for text in corpus)
    return f"the {name}" if total and with_the * 2 >= total else name


def suggestion_question(topic: str) -> str:
    return f"What do the articles say about {topic}?"


# --------------------------------------------------------------------------- errors, paths, admin

_PATH = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)*[\w.@+-]+/?")
_ENV_HINT = re.compile(r"\s*\((?:or )?(?:raise|set|lower|change) [A-Z_]{4,}\)")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def short_path(path: str | Path, root: Path) -> str:
    """A path as a visitor may see it: relative to the checkout when inside it, else only its last part."""
    p = Path(path)
    try:
        relative = p.resolve().relative_to(root.resolve())
        return str(relative) if str(relative) != "." else "."
    except (ValueError, OSError):
        return p.name or str(p)


def short_location(location: str, root: Path) -> str:
    """The index location, relative to the checkout when inside it ("vectorstore/"), never an absolute path."""
    if not location.startswith("/"):
        return location
    return short_path(location, root).rstrip("/") + "/"


def hide_paths(message: str, root: Path) -> str:
    """`message` with every absolute path shortened (see `short_path`)."""
    return _PATH.sub(lambda m: short_path(m.group(0), root), message)


def plain_sentence(message: str, root: Path | None = None) -> str:
    """An error message as a sentence for a visitor: capitalized, ending with a full stop, no advice to raise
    an environment variable, no absolute server path."""
    text = _ENV_HINT.sub("", message.strip())
    if root is not None:
        text = hide_paths(text, root)
    if not text:
        return "Something went wrong."
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def admin_enabled(setting: str, address: str | None) -> bool:
    """Whether the page offers re-ingest and upload: MALI_QA_ADMIN=on/off decides; `auto` allows them only
    when the server listens on loopback (an empty address means every interface)."""
    if setting in ("on", "off"):
        return setting == "on"
    return (address or "").strip() in LOOPBACK


# --------------------------------------------------------------------------- evaluation report


def demote_headings(markdown: str, levels: int = 1) -> str:
    """`markdown` with every ATX heading `levels` deeper (outside fenced code), so the page keeps one title."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"^#{1,6}\s", line):
            line = "#" * min(6, len(line) - len(line.lstrip("#")) + levels) + line.lstrip("#")
        out.append(line)
    return "\n".join(out)


def report_section(markdown: str, title_prefix: str) -> str:
    """The `## {title_prefix}...` section of a report (without its heading), "" when absent."""
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("## ") and line[3:].startswith(title_prefix):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("## ")), len(lines))
            return "\n".join(lines[i + 1 : end]).strip()
    return ""


def by_type_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report's per-type figures as table rows."""

    def rounded(value: Any) -> Any:
        return round(value, 2) if isinstance(value, float) else value

    rows = []
    for kind, figures in (report.get("by_type") or {}).items():
        latency = figures.get("latency_ms") or {}
        rows.append(
            {
                "type": kind,
                "items": figures.get("items"),
                "accuracy": rounded(figures.get("answer_accuracy")),
                "abstention": rounded(figures.get("abstention_accuracy")),
                "citation hit": rounded(figures.get("citation_hit_rate")),
                "hit@1": rounded(figures.get("retrieval_hit_at_1")),
                "MRR": rounded(figures.get("mrr")),
                "p50 ms": rounded(latency.get("p50")),
            }
        )
    return rows


def read_report(path: Path) -> dict[str, Any] | None:
    """report.json as a dict, or None when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def report_time(report: Mapping[str, Any]) -> str:
    """When the report says it was made ("2026-11-21 15:30 UTC"), "" when it does not say."""
    value = str(report.get("date") or "")
    match = re.match(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})", value)
    if not match:
        return value
    utc = value.endswith(("+00:00", "Z"))
    return f"{match[1]} {match[2]}" + (" UTC" if utc else "")
