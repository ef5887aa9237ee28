"""The one scoring rule of `mali-qa eval` and the benchmark: per-item result, percentiles, figures, gate."""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from typing import Any

from mali_qa.eval.gold import TYPES, GoldItem
from mali_qa.types import Answer

#: A passing answer is concise: [n] markers aside, at most this many words (as the reference scorer).
MAX_WORDS = 100
#: Floors of the gate: option name, report key.
FLOORS = (
    ("min_accuracy", "answer_accuracy"),
    ("min_abstention", "abstention_accuracy"),
    ("min_citation", "citation_hit_rate"),
    ("min_precision", "precision"),
    ("min_evidence", "evidence_shown"),
    ("min_short_precision", "short_precision"),
)
#: Ceilings of the gate: option name, report key.
CEILINGS = (("max_unanswerable_answered", "unanswerable_answered"),)
#: The closest passages count as showing the evidence only when they are this few (a reader reads them).
MAX_SHOWN_PASSAGES = 3


def norm(text: str) -> str:
    """The reference scorer's normalization: straight quotes, single spaces, lowercase."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


def word_count(text: str) -> int:
    """Words of an answer, its [n] citation markers left out."""
    return len(re.sub(r"\[\d+\]", " ", text).split())


def missing_groups(item: GoldItem, text: str) -> list[list[str]]:
    """The must_include groups of which no alternative occurs anywhere in `text` (normalized)."""
    body = norm(text)
    return [g for g in item.must_include if not any(alt in body for alt in g)]


def _has_evidence(text: str, evidence: Sequence[str]) -> bool:
    body = norm(text)
    return any(norm(ev) in body for ev in evidence if ev.strip())


def score_item(item: GoldItem, answer: Answer, latency_ms: float, error: str = "") -> dict[str, Any]:
    """One item's result: the answer as given, and every per-item figure the aggregation needs.

    An answerable item passes when it is answered, every must_include group occurs anywhere in the text and
    the text has at most MAX_WORDS words; an unanswerable item passes when the answer abstains."""
    text = answer.text or ""
    missing = missing_groups(item, text)
    words = word_count(text)
    if item.answerable:
        correct = answer.answered and not missing and words <= MAX_WORDS
    else:
        correct = not answer.answered
    if correct:
        reason = ""
    elif not item.answerable:
        reason = "answered an unanswerable question"
    elif not answer.answered:
        reason = error or "abstained"
    elif missing:
        reason = "misses " + " · ".join("/".join(g) for g in missing)
    else:
        reason = f"too long ({words} words > {MAX_WORDS})"
    quoted = " ".join([text, *(c.quote or c.text for c in answer.citations)])
    shown = bool(correct) if item.answerable else False
    if item.answerable and answer.kind == "passages" and len(answer.citations) <= MAX_SHOWN_PASSAGES:
        shown = not missing_groups(item, quoted)
    short = norm(answer.short or "") if answer.answered else ""
    rank = next((i for i, p in enumerate(answer.retrieved, 1) if _has_evidence(p.text, item.evidence)), 0)
    cites = [{"source": c.source, "text": c.text} for c in answer.citations]
    return {
        "id": item.id,
        "type": item.type,
        "question": item.question,
        "history": item.history,
        "answer": text,
        "answered": answer.answered,
        "kind": answer.kind,
        "evidence_shown": shown,
        "short": answer.short if short else "",
        "short_right": bool(short)
        and item.answerable
        and any(alt in short for g in item.must_include for alt in g),
        "expected": item.answer,
        "must_include": item.must_include,
        "correct": bool(correct),
        "reason": reason,
        "words": words,
        "citations": cites,
        "citation_hit": item.answerable and any(_has_evidence(c["text"], item.evidence) for c in cites),
        "citations_on_source": sum(c["source"] in item.sources for c in cites),
        "retrieved": [{"article_id": p.article_id, "text": p.text} for p in answer.retrieved],
        "retrieval_rank": rank,
        "latency_ms": round(latency_ms, 1),
        "error": error,
    }


def ratio(num: float, den: int) -> float | None:
    """num / den to four places, None without a denominator."""
    return round(num / den, 4) if den else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The reference scorer's percentile: the value at index int(q * (n - 1)) of the sorted list."""
    if not values:
        return None
    return round(sorted(values)[int(q * (len(values) - 1))], 1)


def aggregate(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Overall figures of a list of `score_item` results (None where a figure has no denominator)."""
    answerable = [r for r in results if r["type"] != "unanswerable"]
    unanswerable = [r for r in results if r["type"] == "unanswerable"]
    answered = [r for r in results if r["answered"]]
    correct_answers = sum(r["correct"] for r in answerable)
    cites = [c for r in answerable for c in r["citations"]]
    ranks = [r["retrieval_rank"] for r in answerable]
    latencies = [r["latency_ms"] for r in results]
    return {
        "items": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answer_accuracy": ratio(correct_answers, len(answerable)),
        "precision": ratio(correct_answers, len(answered)),
        "answers_given": len(answered),
        "passages_shown": sum(r.get("kind") == "passages" for r in results),
        "evidence_shown": ratio(sum(bool(r.get("evidence_shown")) for r in answerable), len(answerable)),
        "unanswerable_answered": ratio(sum(r["answered"] for r in unanswerable), len(unanswerable)),
        "short_shown": sum(bool(r.get("short")) for r in answerable),
        "short_precision": ratio(
            sum(bool(r.get("short_right")) for r in answerable), sum(bool(r.get("short")) for r in answerable)
        ),
        "abstention_accuracy": ratio(sum(r["correct"] for r in unanswerable), len(unanswerable)),
        "citation_hit_rate": ratio(
            sum(bool(r["answered"] and r["citation_hit"]) for r in answerable), len(answerable)
        ),
        "citation_source_precision": ratio(sum(r["citations_on_source"] for r in answerable), len(cites)),
        "retrieval_hit_at_1": ratio(sum(rank == 1 for rank in ranks), len(ranks)),
        "retrieval_hit_at_k": ratio(sum(rank > 0 for rank in ranks), len(ranks)),
        "mrr": ratio(sum(1 / rank for rank in ranks if rank), len(ranks)),
        "latency_ms": {
            "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
    }


def aggregate_by_type(results: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`aggregate` of each question type present, in the order of TYPES."""
    return {
        t: aggregate([r for r in results if r["type"] == t])
        for t in TYPES
        if any(r["type"] == t for r in results)
    }


def gate(figures: dict[str, Any], floors: dict[str, float | None]) -> list[str]:
    """One line per floor that the figures miss (empty: the gate passes)."""
    failed = []
    for option, key in FLOORS:
        floor = floors.get(option)
        if floor is None:
            continue
        value = figures.get(key)
        if value is None or value < floor:
            shown = "n/a" if value is None else f"{value:.3f}"
            failed.append(f"{key} {shown} is below --{option.replace('_', '-')} {floor}")
    for option, key in CEILINGS:
        ceiling = floors.get(option)
        if ceiling is None:
            continue
        value = figures.get(key)
        if value is None or value > ceiling:
            shown = "n/a" if value is None else f"{value:.3f}"
            failed.append(f"{key} {shown} is above --{option.replace('_', '-')} {ceiling}")
    return failed
