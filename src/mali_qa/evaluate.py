"""`mali-qa eval`: score `ask` on a gold JSONL file (answers, abstentions, citations, retrieval, latency)."""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import InvalidQuestionError, MaliQAError
from .types import Answer

#: A passing answer is concise: [n] markers aside, at most this many words (as the reference scorer).
MAX_WORDS = 100
TYPES = ("factoid", "date", "numeric", "list", "multi-doc", "unanswerable", "follow-up")
REQUIRED = {
    "id": str,
    "question": str,
    "answer": str,
    "must_include": list,
    "sources": list,
    "evidence": list,
    "type": str,
}
#: Asked once before the timed run, so that loading the index is not counted as an item's latency.
WARM_UP = "What are these articles about?"
#: Floors of the gate: option name, report key.
FLOORS = (
    ("min_accuracy", "answer_accuracy"),
    ("min_abstention", "abstention_accuracy"),
    ("min_citation", "citation_hit_rate"),
)


@dataclass(frozen=True)
class GoldItem:
    """One question of a gold file (format: shared eval/FORMAT.md)."""

    id: str
    question: str
    answer: str
    must_include: list[list[str]]
    sources: list[str]
    evidence: list[str]
    type: str
    history: list[dict[str, str]] = field(default_factory=list)
    line: int = 0

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


def norm(text: str) -> str:
    """The reference scorer's normalization: straight quotes, single spaces, lowercase."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


def word_count(text: str) -> int:
    return len(re.sub(r"\[\d+\]", " ", text).split())


# --------------------------------------------------------------------------------------------- gold file


def parse_item(data: Any, line: int) -> GoldItem:
    """One gold line's object as a GoldItem; ValueError says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    for name, kind in REQUIRED.items():
        if name not in data:
            raise ValueError(f"missing field {name!r}")
        if not isinstance(data[name], kind):
            raise ValueError(f"field {name!r} must be a {kind.__name__}")
    if not data["question"].strip():
        raise ValueError("empty question")
    if data["type"] not in TYPES:
        raise ValueError(f"unknown type {data['type']!r} (one of {', '.join(TYPES)})")
    groups = data["must_include"]
    if not all(isinstance(g, list) and g and all(isinstance(a, str) and a for a in g) for g in groups):
        raise ValueError("must_include must be a list of non-empty lists of strings")
    for name in ("sources", "evidence"):
        if not all(isinstance(s, str) for s in data[name]):
            raise ValueError(f"{name} must be a list of strings")
    history = data.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(t, dict) and t.get("role") in ("user", "assistant") and isinstance(t.get("content"), str)
        for t in history
    ):
        raise ValueError("history must be a list of {'role': 'user'|'assistant', 'content': str}")
    if data["type"] != "unanswerable" and not groups:
        raise ValueError("an answerable item needs must_include")
    return GoldItem(
        id=data["id"],
        question=data["question"],
        answer=data["answer"],
        must_include=[[a.lower() for a in g] for g in groups],
        sources=list(data["sources"]),
        evidence=list(data["evidence"]),
        type=data["type"],
        history=[{"role": t["role"], "content": t["content"]} for t in history],
        line=line,
    )


def load_gold(path: Path) -> tuple[list[GoldItem], list[str]]:
    """The valid items of a gold file and one warning (with its line number) per line skipped."""
    if not path.is_file():
        raise MaliQAError(
            f"gold file {path} not found: pass --gold FILE (JSONL, one question per line) "
            "or write eval/gold.jsonl"
        )
    items: list[GoldItem] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = parse_item(json.loads(raw), n)
        except json.JSONDecodeError as exc:
            warnings.append(f"{path.name} line {n}: not valid JSON ({exc.msg}); skipped")
            continue
        except ValueError as exc:
            warnings.append(f"{path.name} line {n}: {exc}; skipped")
            continue
        if item.id in seen:
            warnings.append(f"{path.name} line {n}: duplicate id {item.id!r}; skipped")
            continue
        seen.add(item.id)
        items.append(item)
    return items, warnings


# --------------------------------------------------------------------------------------------- scoring


def _has_evidence(text: str, evidence: Sequence[str]) -> bool:
    body = norm(text)
    return any(norm(ev) in body for ev in evidence if ev.strip())


def score_item(item: GoldItem, answer: Answer, latency_ms: float, error: str = "") -> dict[str, Any]:
    """One item's result: the answer as given, and every per-item figure the aggregation needs."""
    text = answer.text or ""
    body = norm(text)
    missing = [g for g in item.must_include if not any(alt in body for alt in g)]
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
    rank = next((i for i, p in enumerate(answer.retrieved, 1) if _has_evidence(p.text, item.evidence)), 0)
    cites = [{"source": c.source, "text": c.text} for c in answer.citations]
    return {
        "id": item.id,
        "type": item.type,
        "question": item.question,
        "history": item.history,
        "answer": text,
        "answered": answer.answered,
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


def _ratio(num: float, den: int) -> float | None:
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
        "answer_accuracy": _ratio(correct_answers, len(answerable)),
        "precision": _ratio(correct_answers, len(answered)),
        "abstention_accuracy": _ratio(sum(r["correct"] for r in unanswerable), len(unanswerable)),
        "citation_hit_rate": _ratio(
            sum(bool(r["answered"] and r["citation_hit"]) for r in answerable), len(answerable)
        ),
        "citation_source_precision": _ratio(sum(r["citations_on_source"] for r in answerable), len(cites)),
        "retrieval_hit_at_1": _ratio(sum(rank == 1 for rank in ranks), len(ranks)),
        "retrieval_hit_at_k": _ratio(sum(rank > 0 for rank in ranks), len(ranks)),
        "mrr": _ratio(sum(1 / rank for rank in ranks if rank), len(ranks)),
        "latency_ms": {
            "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
    }


def aggregate_by_type(results: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
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
    return failed


# --------------------------------------------------------------------------------------------- running


AskFn = Callable[..., Answer]


def run_items(
    items: Sequence[GoldItem], ask: AskFn, *, progress: bool = True, **ask_kwargs: Any
) -> list[dict]:
    """Ask every item's question (with its history) and score the answer."""
    from tqdm import tqdm

    results = []
    for item in tqdm(items, desc="eval", unit="q", disable=not progress, file=sys.stderr):
        start = time.perf_counter()
        error = ""
        try:
            answer = ask(item.question, history=item.history or None, **ask_kwargs)
        except InvalidQuestionError as exc:
            answer, error = Answer(text="", answered=False), f"error: {exc}"
        latency = (time.perf_counter() - start) * 1000
        results.append(score_item(item, answer, latency, error))
    return results


def build_report(
    results: list[dict[str, Any]],
    *,
    gold: Path,
    engine: str,
    skipped: int,
    warnings: Iterable[str],
    top_k: int,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "gold": str(gold),
        "engine": engine,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "top_k": top_k,
        "skipped": skipped,
        "warnings": list(warnings),
    }
    report.update(aggregate(results))
    report["by_type"] = aggregate_by_type(results)
    report["items"] = results
    return report


# --------------------------------------------------------------------------------------------- judged

JUDGE_FAITHFULNESS = """You check an answer against the passages it cites. Split the answer into its
factual claims and count how many are stated or directly implied by the cited passages. Reply with JSON only:
{{"claims": <number of claims>, "supported": <number supported>}}

Cited passages:
{passages}

Answer:
{answer}"""

JUDGE_CORRECTNESS = """Does the candidate answer agree with the reference answer on the facts the
question asks for? Extra correct detail is fine; a missing or contradicting key fact is not.
Reply with JSON only:
{{"correct": true}} or {{"correct": false}}

Question: {question}
Reference answer: {reference}
Candidate answer: {answer}"""


def _json_reply(text: str) -> dict[str, Any]:
    match = re.search(r"\{.*\}", text, re.S)
    if not match:
        raise ValueError(f"no JSON in the judge's reply: {text[:80]!r}")
    data = json.loads(match.group(0))
    if not isinstance(data, dict):
        raise ValueError("the judge's reply is not a JSON object")
    return data


def judge_item(complete: Callable[[str], str], result: dict[str, Any]) -> dict[str, Any]:
    """Model-judged faithfulness (supported claims / claims) and correctness of one answered item."""
    passages = "\n\n".join(f"[{i}] {c['text']}" for i, c in enumerate(result["citations"], 1)) or "(none)"
    verdict: dict[str, Any] = {"id": result["id"]}
    faith = _json_reply(complete(JUDGE_FAITHFULNESS.format(passages=passages, answer=result["answer"])))
    claims, supported = int(faith.get("claims", 0)), int(faith.get("supported", 0))
    verdict["faithfulness"] = round(min(supported, claims) / claims, 4) if claims > 0 else None
    if result["type"] != "unanswerable":
        reply = complete(
            JUDGE_CORRECTNESS.format(
                question=result["question"], reference=result["expected"], answer=result["answer"]
            )
        )
        verdict["correct"] = bool(_json_reply(reply).get("correct"))
    return verdict


def summarize_judged(verdicts: Sequence[dict[str, Any]], errors: int) -> dict[str, Any]:
    faith = [v["faithfulness"] for v in verdicts if v.get("faithfulness") is not None]
    correct = [v["correct"] for v in verdicts if "correct" in v]
    return {
        "judged_items": len(verdicts),
        "errors": errors,
        "faithfulness": round(statistics.fmean(faith), 4) if faith else None,
        "correctness": _ratio(sum(correct), len(correct)),
        "verdicts": list(verdicts),
    }


def judge_results(
    results: Sequence[dict[str, Any]], settings: Any, *, progress: bool = True
) -> dict[str, Any]:
    """Ask the configured chat model to judge every answered item (only with a generative engine)."""
    from tqdm import tqdm

    from .llm import get_llm

    llm = get_llm(settings)

    def complete(prompt: str) -> str:
        return str(llm.complete(prompt).text)

    verdicts, errors = [], 0
    answered = [r for r in results if r["answered"]]
    for result in tqdm(answered, desc="judge", unit="q", disable=not progress, file=sys.stderr):
        try:
            verdicts.append(judge_item(complete, result))
        except (ValueError, TypeError, MaliQAError) as exc:
            errors += 1
            verdicts.append({"id": result["id"], "error": str(exc)[:200]})
    summary = summarize_judged(verdicts, errors)
    summary["model"] = getattr(settings, "chat_model", "")
    return summary


def _resolve_settings(engine: str | None) -> Any:
    from .api import default_settings

    settings = default_settings()
    if engine:
        settings = settings.with_(engine=engine)
    return settings


def _shown(path: Path, root: Path) -> Path:
    """The path relative to the project root when it lies inside it (the committed report stays portable)."""
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:
        return path


def cmd_eval(args: argparse.Namespace) -> int:
    from . import api
    from .config import project_root
    from .eval_report import print_summary, write_report

    root = project_root()
    gold = Path(args.gold) if args.gold else root / "eval" / "gold.jsonl"
    out = Path(args.out) if args.out else root / "eval" / "report"
    items, warnings = load_gold(gold)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not items:
        raise MaliQAError(f"gold file {gold} has no valid item: fix the lines named above")
    settings = _resolve_settings(args.engine)
    top_k = args.top_k or settings.top_k
    engine = "openai" if settings.use_generative else "offline"
    start = time.perf_counter()
    api.ask(WARM_UP, settings=settings, top_k=top_k)  # loads the index and model: not an item's latency
    first_answer_s = round(time.perf_counter() - start, 2)
    results = run_items(items, api.ask, progress=not args.quiet, settings=settings, top_k=top_k)
    report = build_report(
        results, gold=_shown(gold, root), engine=engine, skipped=len(warnings), warnings=warnings, top_k=top_k
    )
    report["first_answer_s"] = first_answer_s
    if engine == "openai" and not args.no_judge:
        report["judged"] = judge_results(results, settings, progress=not args.quiet)
    paths = write_report(report, out)
    print_summary(report)
    if warnings:
        print(f"skipped {len(warnings)} malformed line(s) of {gold.name}")
    print("wrote " + ", ".join(str(p) for p in paths))
    failed = gate(
        report,
        {
            "min_accuracy": args.min_accuracy,
            "min_abstention": args.min_abstention,
            "min_citation": args.min_citation,
        },
    )
    for line in failed:
        print(f"mali-qa eval: gate failed: {line}", file=sys.stderr)
    return 1 if failed else 0


def _fraction(raw: str) -> float:
    value = float(raw)
    if math.isnan(value):
        raise argparse.ArgumentTypeError("not a number")
    return value


def add_command(subparsers: Any) -> None:
    p = subparsers.add_parser("eval", help="score the answers on a gold question set; write eval/report/")
    p.add_argument("--gold", help="gold JSONL file (default: eval/gold.jsonl)")
    p.add_argument("--out", help="report folder (default: eval/report/)")
    p.add_argument("--engine", choices=("offline", "openai"), help="answer engine (default: MALI_QA_ENGINE)")
    p.add_argument("--top-k", type=int, default=None, help="passages to retrieve (default MALI_QA_TOP_K)")
    p.add_argument("--min-accuracy", type=_fraction, help="fail (exit 1) when answer accuracy is below this")
    p.add_argument("--min-abstention", type=_fraction, help="fail when abstention accuracy is below this")
    p.add_argument("--min-citation", type=_fraction, help="fail when the citation hit rate is below this")
    p.add_argument(
        "--no-judge", action="store_true", help="with --engine openai: skip the model-judged metrics"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval)
