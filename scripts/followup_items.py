"""Scores only the items with a `history` (the follow-ups) of gold files, as score_gold.py does, and lists the
items whose result changed against an earlier run: the check for a change to how follow-ups are condensed.

    .venv/bin/python scripts/followup_items.py eval/bank/*.jsonl eval/gold.jsonl --out /tmp/before.json
    .venv/bin/python scripts/followup_items.py eval/bank/*.jsonl eval/gold.jsonl --compare /tmp/before.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

MAX_WORDS = 100


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


def _right(item: dict, text: str, answered: bool) -> bool:
    """score_gold.py's test: an unanswerable item is declined; an answerable one holds every group."""
    if item["type"] == "unanswerable" or not item["must_include"]:
        return not answered
    short = len(re.sub(r"\[\d+\]", " ", text).split()) <= MAX_WORDS
    groups = item["must_include"]
    return answered and short and all(any(a.lower() in _norm(text) for a in g) for g in groups)


def run(files: list[Path]) -> dict[str, dict[str, object]]:
    os.environ.setdefault("MALI_QA_ENGINE", "offline")
    from mali_qa import ask

    out: dict[str, dict[str, object]] = {}
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line) if line.strip() else {}
            if not item.get("history"):
                continue
            key = f"{path.name}:{item['id']}"
            try:
                answer = ask(item["question"], history=item["history"])
            except Exception as exc:  # counted wrong, and named: a crash is a finding, not a stop
                print(f"error: {key}: {type(exc).__name__}: {exc}")
                out[key] = {
                    "right": False,
                    "answerable": bool(item["must_include"]),
                    "answered": False,
                    "query": "",
                    "text": f"error {type(exc).__name__}",
                }
                continue
            out[key] = {
                "right": _right(item, answer.text, answer.answered),
                "answerable": bool(item["must_include"]),
                "answered": answer.answered,
                "query": answer.query,
                "text": answer.text[:160],
            }
    return out


def _summary(results: dict[str, dict[str, object]]) -> str:
    answerable = [r for r in results.values() if r["answerable"]]
    declined = [r for r in results.values() if not r["answerable"]]
    return (
        f"{len(results)} follow-ups: answerable right {sum(bool(r['right']) for r in answerable)}/"
        f"{len(answerable)}, unanswerable declined {sum(bool(r['right']) for r in declined)}/{len(declined)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gold", nargs="+")
    parser.add_argument("--out", help="write the per-item results to this file")
    parser.add_argument("--compare", help="list the items whose result differs from this file's")
    args = parser.parse_args()
    files = [Path(g) for g in args.gold]
    now = run(files)
    for path in files:
        mine = {k: v for k, v in now.items() if k.startswith(path.name + ":")}
        print(f"{path.name}: {_summary(mine)}")
    print(f"all: {_summary(now)}")
    if args.out:
        Path(args.out).write_text(json.dumps(now, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.compare:
        before = json.loads(Path(args.compare).read_text(encoding="utf-8"))
        for key in sorted(now):
            was, new = before.get(key), now[key]
            if was and was["right"] != new["right"]:
                print(
                    f"{'better' if new['right'] else 'worse'}: {key}\n  before: {was['text']}\n  after:  {new['text']}"
                )
        print(f"queries changed: {sum(1 for k in now if before.get(k, {}).get('query') != now[k]['query'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
