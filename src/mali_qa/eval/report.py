"""The files of `mali-qa eval`: report.json, report.md (figures and every failure) and report.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: (report key, label) of the figures shown in the tables.
FIGURES = (
    ("precision", "answers right / given"),
    ("answer_accuracy", "answers right / answerable"),
    ("evidence_shown", "evidence shown"),
    ("unanswerable_answered", "unanswerables answered"),
    ("short_precision", "short answer right / shown"),
    ("answers_given", "answers given"),
    ("passages_shown", "closest passages shown"),
    ("abstention_accuracy", "abstention accuracy"),
    ("citation_hit_rate", "citation hit rate"),
    ("citation_source_precision", "citation source precision"),
    ("retrieval_hit_at_1", "retrieval hit@1"),
    ("retrieval_hit_at_k", "retrieval hit@k"),
    ("mrr", "MRR"),
)


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _type_score(figures: dict[str, Any], kind: str) -> float | None:
    """The one score of a type: abstention accuracy for unanswerable items, answer accuracy otherwise."""
    key = "abstention_accuracy" if kind == "unanswerable" else "answer_accuracy"
    value = figures.get(key)
    return float(value) if value is not None else None


def render_markdown(report: dict[str, Any]) -> str:
    lat = report["latency_ms"]
    lines = [
        "# Evaluation report",
        "",
        f"Gold file `{report['gold']}` · engine **{report['engine']}** · top-k {report['top_k']} · "
        f"{report['date']} · {len(report['items'])} items ({report['answerable']} answerable, "
        f"{report['unanswerable']} unanswerable), {report['skipped']} line(s) skipped"
        + (
            f"; first answer (index load) {report['first_answer_s']} s."
            if "first_answer_s" in report
            else "."
        ),
        "",
        "## Overall",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {label} | {fmt(report.get(key))} |" for key, label in FIGURES]
    lines += [f"| latency p50 / p95 (ms) | {fmt(lat['p50'])} / {fmt(lat['p95'])} |", "", "## By type", ""]
    lines += [
        "| type | items | accuracy | precision | evidence shown | abstention | citation hit | hit@1 | hit@k | MRR "
        "| p50 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, f in report["by_type"].items():
        lines.append(
            f"| {kind} | {f['items']} | {fmt(f['answer_accuracy'])} | {fmt(f['precision'])} | "
            f"{fmt(f['evidence_shown'])} | {fmt(f['abstention_accuracy'])} | {fmt(f['citation_hit_rate'])} | "
            f"{fmt(f['retrieval_hit_at_1'])} | "
            f"{fmt(f['retrieval_hit_at_k'])} | {fmt(f['mrr'])} | {fmt(f['latency_ms']['p50'])} |"
        )
    lines += [
        "",
        "Three kinds of reply: an answer (the engine is sure), the closest passages (unsure: one to three "
        'cited quotes, `answered` false) and "The articles don\'t say." '
        "Answers right / given (precision): correct answers over all answers given, answers to unanswerable "
        "items counting as wrong. Answers right / answerable (answer accuracy): answerable items answered "
        "with every `must_include` group, in at most 100 words. Evidence shown: answerable items answered "
        "right, or given at most three closest passages whose quotes hold every `must_include` group. "
        "Unanswerables answered: unanswerable items given an answer (the closest passages are not one). "
        "Short answer right / shown: the bold short answer holds a `must_include` alternative. Citation hit rate: answerable items "
        "answered with a citation whose passage holds an evidence string. Retrieval: rank of the first "
        "retrieved passage holding an evidence string (answerable items).",
    ]
    if report.get("warnings"):
        lines += ["", "## Skipped lines", ""] + [f"- {w}" for w in report["warnings"]]
    failures = [r for r in report["items"] if not r["correct"]]
    lines += ["", f"## Failures ({len(failures)})", ""]
    for r in failures:
        lines += [f"### {r['id']} ({r['type']}): {r['reason']}", ""]
        for turn in r.get("history") or []:
            lines.append(f"- *earlier {turn['role']}*: {turn['content']}")
        lines += [
            f"- **question**: {r['question']}",
            f"- **answer**: {r['answer'].strip() or '(empty)'}".replace("\n", " "),
            f"- **expected**: {r['expected']}"
            + (
                f" (must include: {' AND '.join('/'.join(g) for g in r['must_include'])})"
                if r["must_include"]
                else ""
            ),
            f"- retrieval rank of the evidence: {r['retrieval_rank'] or 'not retrieved'}"
            if r["type"] != "unanswerable"
            else "- (unanswerable: a good system says the articles don't say)",
            "",
        ]
    if "judged" in report:
        lines += render_judged(report["judged"])
    return "\n".join(lines).rstrip() + "\n"


def render_judged(judged: dict[str, Any]) -> list[str]:
    return [
        "",
        "## Model-judged figures (separate from the checks above)",
        "",
        f"Judge model `{judged.get('model', '')}`; a model's opinion, not a string match: read with care.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| faithfulness (supported claims / claims, mean) | {fmt(judged.get('faithfulness'))} |",
        f"| correctness against the reference | {fmt(judged.get('correctness'))} |",
        f"| items judged / judge errors | {judged.get('judged_items')} / {judged.get('errors')} |",
    ]


def render_png(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(report["by_type"])
    scores = [_type_score(report["by_type"][k], k) or 0.0 for k in kinds]
    labels = [("unanswerable\n(abstention)" if k == "unanswerable" else k) for k in kinds]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.bar(labels, scores, color="#4c72b0")
    left.set_ylim(0, 1)
    left.set_ylabel("accuracy")
    left.set_title(f"Accuracy per type ({report['engine']})")
    left.tick_params(axis="x", labelrotation=30, labelsize=8)
    for x, y in enumerate(scores):
        left.text(x, y + 0.02, f"{y:.2f}", ha="center", fontsize=8)
    latencies = [r["latency_ms"] for r in report["items"]]
    right.hist(latencies, bins=min(20, max(len(latencies), 1)), color="#dd8452")
    right.set_xlabel("latency (ms)")
    right.set_ylabel("items")
    right.set_title(
        f"Latency: p50 {fmt(report['latency_ms']['p50'])} ms, p95 {fmt(report['latency_ms']['p95'])} ms"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(report: dict[str, Any], out: Path) -> list[Path]:
    """Write report.json, report.md and report.png into `out` (created when missing)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "report.png"]
    paths[0].write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(render_markdown(report), encoding="utf-8")
    render_png(report, paths[2])
    return paths


def print_summary(report: dict[str, Any]) -> None:
    lat = report["latency_ms"]
    print(f"{report['engine']} engine on {Path(report['gold']).name}: {len(report['items'])} items")
    for key, label in FIGURES:
        print(f"  {label:<28}{fmt(report.get(key)):>6}")
    print(f"  {'latency p50 / p95 (ms)':<28}{fmt(lat['p50']):>6} / {fmt(lat['p95'])}")
    print(
        "  by type: "
        + ", ".join(f"{k} {fmt(_type_score(f, k))} ({f['items']})" for k, f in report["by_type"].items())
    )
    if "judged" in report:
        j = report["judged"]
        print(f"  judged: faithfulness {fmt(j.get('faithfulness'))}, correctness {fmt(j.get('correctness'))}")
