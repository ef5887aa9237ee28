"""Record, or compare against a record, the offline answers (text and citations) to every question of the
gold files: the check that a refactoring changed no behaviour.

    .venv/bin/python scripts/answers_snapshot.py --out /tmp/before.json
    .venv/bin/python scripts/answers_snapshot.py --compare /tmp/before.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLD_FILES = (ROOT / "eval" / "gold.jsonl", ROOT.parent / "shared" / "eval" / "gold_dev.jsonl")


def snapshot(files: list[Path]) -> dict[str, dict[str, object]]:
    os.environ["MALI_QA_ENGINE"] = "offline"
    from mali_qa import ask

    out: dict[str, dict[str, object]] = {}
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            answer = ask(item["question"], history=item.get("history") or None)
            out[f"{path.name}:{item['id']}"] = {
                "text": answer.text,
                "answered": answer.answered,
                "citations": [
                    [c.source, c.start, c.end, c.quote_start, c.quote_end] for c in answer.citations
                ],
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the snapshot to this file")
    parser.add_argument("--compare", help="compare today's answers with this snapshot")
    parser.add_argument(
        "gold", nargs="*", help="gold files (default: eval/gold.jsonl and the shared dev set)"
    )
    args = parser.parse_args()
    files = [Path(g) for g in args.gold] or [p for p in GOLD_FILES if p.is_file()]
    now = snapshot(files)
    if args.out:
        Path(args.out).write_text(json.dumps(now, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"{len(now)} answers written to {args.out}")
    if args.compare:
        before = json.loads(Path(args.compare).read_text(encoding="utf-8"))
        changed = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
        for key in changed:
            print(f"changed: {key}\n  before: {before.get(key)}\n  after:  {now.get(key)}")
        print(f"{len(now)} answers, {len(changed)} changed")
        return 1 if changed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
