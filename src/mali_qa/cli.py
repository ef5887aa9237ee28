"""The `mali-qa` command: ingest, ask, chat and eval; errors become one line and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mali_qa.errors import MaliQAError

EXIT_ERROR = 1
EXIT_USAGE = 2


def _settings() -> Any:
    from mali_qa.service import default_settings

    return default_settings()


def cmd_ingest(args: argparse.Namespace) -> int:
    from mali_qa.ingest.write import ingest

    settings = _settings()
    folder = Path(args.folder) if args.folder else None
    report = ingest(settings, folder, rebuild=args.rebuild, progress=not args.quiet)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(report.summary())
    return 0


def _print_answer(answer: Any, as_json: bool) -> None:
    if as_json:
        data = answer.to_dict()
        data.pop("retrieved", None)
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    print(answer.text)
    if answer.notice:
        print(f"\n({answer.notice})")
    for i, c in enumerate(answer.citations, 1):
        where = ", ".join(x for x in (c.outlet, c.date) if x)
        print(f"\n[{i}] {c.title}" + (f" ({where})" if where else "") + f" · {c.source}")
        print(f"    “{c.quote or c.text}”")


def cmd_ask(args: argparse.Namespace) -> int:
    from mali_qa.service import ask

    answer = ask(args.question, top_k=args.top_k)
    _print_answer(answer, args.json)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from mali_qa.service import ask
    from mali_qa.types import Turn

    history: list[Turn] = []
    print("Ask about the articles. An empty line or Ctrl-D quits; /new starts over.")
    while True:
        try:
            question = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            return 0
        if question == "/new":
            history = []
            continue
        try:
            answer = ask(question, history=history)
        except MaliQAError as exc:
            print(f"error: {exc}")
            continue
        _print_answer(answer, False)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


def _debug() -> bool:
    """MALI_QA_DEBUG, read through the settings (False when the settings themselves are invalid)."""
    try:
        return bool(_settings().debug)
    except MaliQAError:
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mali-qa", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest", help="index the articles of a folder (default: seeds/)")
    p.add_argument("folder", nargs="?", help="folder of .txt, .md and .html articles")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it again")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)
    p = sub.add_parser("ask", help="answer one question with cited passages")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--top-k", type=int, default=None, help="passages to retrieve (default MALI_QA_TOP_K)")
    p.set_defaults(func=cmd_ask)
    p = sub.add_parser("chat", help="a conversation in the terminal, with follow-up questions")
    p.set_defaults(func=cmd_chat)
    from mali_qa.eval.command import add_command

    add_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except MaliQAError as exc:
        if _debug():
            raise
        print(f"mali-qa: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("mali-qa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
