"""`mali-qa eval`: score `ask` on a gold JSONL file (answers, abstentions, citations, retrieval, latency)."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mali_qa.config import WARM_UP_QUESTION
from mali_qa.errors import InvalidQuestionError, MaliQAError
from mali_qa.eval.gold import GoldItem, load_gold
from mali_qa.eval.scoring import aggregate, aggregate_by_type, gate, score_item
from mali_qa.types import Answer

if TYPE_CHECKING:
    from mali_qa.config import Settings

#: Asked once before the timed run, so that loading the index is not counted as an item's latency.

AskFn = Callable[..., Answer]


def run_items(
    items: Sequence[GoldItem], ask: AskFn, *, progress: bool = True, **ask_kwargs: Any
) -> list[dict[str, Any]]:
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
    """The report's dictionary: run details, overall figures, figures by type, then every item."""
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


def _resolve_settings(engine: str | None) -> Settings:
    from mali_qa.service import default_settings

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
    from mali_qa import service
    from mali_qa.config import project_root
    from mali_qa.eval.judge import judge_results
    from mali_qa.eval.report import print_summary, write_report

    root = project_root()
    gold = Path(args.gold) if args.gold else root / "eval" / "gold.jsonl"
    items, warnings = load_gold(gold)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not items:
        raise MaliQAError(f"gold file {gold} has no valid item: fix the lines named above")
    settings = _resolve_settings(args.engine)
    out = Path(args.out) if args.out else Path(settings.eval_report_dir)
    top_k = args.top_k or settings.top_k
    engine = "openai" if settings.use_generative else "offline"
    start = time.perf_counter()
    service.ask(
        WARM_UP_QUESTION, settings=settings, top_k=top_k
    )  # loads the index and model: not an item's latency
    first_answer_s = round(time.perf_counter() - start, 2)
    results = run_items(items, service.ask, progress=not args.quiet, settings=settings, top_k=top_k)
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
            "min_precision": args.min_precision,
            "min_evidence": args.min_evidence,
            "min_short_precision": args.min_short_precision,
            "max_unanswerable_answered": args.max_unanswerable_answered,
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
    p.add_argument("--out", help="report folder (default: MALI_QA_EVAL_REPORT_DIR, else eval/report/)")
    p.add_argument("--engine", choices=("offline", "openai"), help="answer engine (default: MALI_QA_ENGINE)")
    p.add_argument("--top-k", type=int, default=None, help="passages to retrieve (default MALI_QA_TOP_K)")
    p.add_argument("--min-accuracy", type=_fraction, help="fail (exit 1) when answer accuracy is below this")
    p.add_argument("--min-abstention", type=_fraction, help="fail when abstention accuracy is below this")
    p.add_argument("--min-citation", type=_fraction, help="fail when the citation hit rate is below this")
    p.add_argument("--min-precision", type=_fraction, help="fail when answers right / answers given is below")
    p.add_argument(
        "--min-evidence",
        type=_fraction,
        help="fail when the share of answerable items whose evidence is shown is below",
    )
    p.add_argument(
        "--min-short-precision", type=_fraction, help="fail when short answers right / shown is below"
    )
    p.add_argument(
        "--max-unanswerable-answered",
        type=_fraction,
        help="fail when the share of unanswerables answered is above",
    )
    p.add_argument(
        "--no-judge", action="store_true", help="with --engine openai: skip the model-judged metrics"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval)
