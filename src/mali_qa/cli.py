"""The `mali-qa` command: ingest, ask, chat, eval and serve; errors become one line and a non-zero exit, and
nothing it prints can drive the terminal (escape sequences and control characters are stripped)."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mali_qa.errors import InvalidQuestionError, MaliQAError
from mali_qa.sources import source_label
from mali_qa.types import CLOSEST_PASSAGES

EXIT_ERROR = 1
EXIT_USAGE = 2
#: The exit code of a command whose output pipe was closed (`| head`), as if killed by SIGPIPE.
EXIT_PIPE = 141
#: At most this much of standard input is read as a question (the question limit then applies).
MAX_STDIN_CHARS = 100_000
#: Said under the closest passages: what gives written answers instead of quotes.
WRITTEN_ANSWERS_HINT = (
    "(Written answers: set OPENAI_API_KEY, or OPENAI_BASE_URL for a local OpenAI-compatible server, in .env.)"
)
CHAT_HELP = """Commands:
  /help   this list
  /new    start a new conversation (asks first)
  /quit   leave (or Ctrl-D)
Anything else is a question about the articles; follow-up questions use the conversation so far."""


#: What a terminal would act on rather than show: ESC sequences (CSI `ESC[2J`, OSC `ESC]52;c;...` up to BEL
#: or ST, and the rest), C0 controls but tab and newline, DEL, C1 controls, and bidi overrides.
_TERMINAL_CONTROL = re.compile(
    r"\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC ... BEL/ST
    r"|\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, SOS, PM, APC ... ST
    r"|\x1b[ -/]*[0-~]?"  # any other escape
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def terminal_safe(text: str) -> str:
    """`text` as a terminal should print it: every escape sequence and control character removed (tab and
    newline kept), so that a model's reply or an article cannot retitle the window, clear the screen or set
    the clipboard (OSC 52)."""
    return _TERMINAL_CONTROL.sub("", text)


def _say(*parts: Any, file: Any = None) -> None:
    print(*(terminal_safe(str(part)) for part in parts), file=file)


def _settings() -> Any:
    from mali_qa.service import default_settings

    return default_settings()


def cmd_ingest(args: argparse.Namespace) -> int:
    from mali_qa.ingest.write import ingest

    settings = _settings()
    folder = Path(args.folder) if args.folder else None
    _say_when_preparing_the_model(settings)
    report = ingest(
        settings,
        folder,
        rebuild=args.rebuild,
        progress=not args.quiet,
        allow_empty=args.allow_empty,
        lock_wait=LOCK_GRACE_SECONDS,
    )
    for warning in report.warnings:
        _say(f"warning: {warning}", file=sys.stderr)
    _say(report.summary())
    return 0


def _say_when_preparing_the_model(settings: Any) -> None:
    """Once, before a first ingest: the bundled model's ONNX export is made first (about 10 s at 0%)."""
    from mali_qa.store import minilm

    if settings.embeddings == "local" and not minilm.onnx_export_exists(settings.cache_dir):
        _say("preparing the bundled embedding model (first run, ~10 s)…", file=sys.stderr)


def _print_answer(answer: Any, as_json: bool) -> None:
    if as_json:
        data = answer.to_dict()
        data.pop("retrieved", None)
        text = json.dumps(data, ensure_ascii=False, indent=2)  # escapes C0 controls, not C1 ones
        print(re.sub(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]", lambda m: f"\\u{ord(m.group()):04x}", text))
        return
    if answer.short:  # the exact answer, in bold on a terminal, above the quotes
        print(_bold(terminal_safe(answer.short)) + "\n")
    if answer.kind == "passages":  # unsure: the label, then one closest quote a line
        _say(CLOSEST_PASSAGES)
        for quote in answer.closest_quotes():
            _say(f"  {quote}")
        _say(WRITTEN_ANSWERS_HINT)
    else:
        _say(answer.text)
    if answer.notice:
        _say(f"\n({answer.notice})")
    for i, c in enumerate(answer.citations, 1):
        _say(f"\n[{i}] {source_label(c)}")  # as the page and the service name it
        _say(f"    {_quoted(c.quote or c.text)}")


def _bold(text: str) -> str:
    return f"\033[1m{text}\033[0m" if sys.stdout.isatty() else text


def _quoted(text: str) -> str:
    """The quote in quotation marks, unless it already opens with one (the article's own)."""
    return text if text[:1] in "“\"‘'«" else f"“{text}”"


def cmd_ask(args: argparse.Namespace) -> int:
    from mali_qa.service import ask

    if args.question is None and not sys.stdin.isatty():  # `echo "when did …" | mali-qa ask`
        try:
            args.question = sys.stdin.read(MAX_STDIN_CHARS).strip() or None
        except (OSError, ValueError):  # a closed or unreadable standard input holds no question
            args.question = None
    if args.question is None:  # `mali-qa ask --json`: the options, but no question
        raise InvalidQuestionError('no question given: mali-qa ask "when did France leave Mali?"')
    answer = ask(args.question, top_k=args.top_k)
    _print_answer(answer, args.json)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from mali_qa.service import ask
    from mali_qa.types import Turn

    history: list[Turn] = []
    print("Ask about the articles. /help lists the commands; /quit or Ctrl-D leaves.")
    while True:
        line = _read_line("you> ")
        if line is None or line in ("/quit", "/exit"):
            return 0
        if not line:
            continue
        if line == "/help":
            print(CHAT_HELP)
            continue
        if line == "/new":
            if not history:
                print("This is a new conversation already.")
            elif _confirm("Forget this conversation and start over? [y/N] "):
                history = []
                print("New conversation.")
            else:
                print("Kept the conversation.")
            continue
        if line.startswith("/"):
            _say(f"unknown command {line.split()[0]!r}: /help lists the commands")
            continue
        try:
            answer = ask(line, history=history)
        except MaliQAError as exc:
            _say(f"error: {exc}")
            continue
        _print_answer(answer, False)
        history += [{"role": "user", "content": line}, {"role": "assistant", "content": answer.text}]


def _confirm(prompt: str) -> bool:
    return (_read_line(prompt) or "").lower() in ("y", "yes")


def _read_line(prompt: str) -> str | None:
    """One line of input, stripped; None at Ctrl-D or Ctrl-C (the chat ends)."""
    try:
        return input(prompt).strip()
    except (EOFError, KeyboardInterrupt):
        print()
        return None


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
    p.add_argument("--allow-empty", action="store_true", help="let a folder with no articles empty the index")
    p.set_defaults(func=cmd_ingest)
    p = sub.add_parser("ask", help="answer one question with cited passages")
    p.add_argument("question", nargs="?")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--top-k", type=int, default=None, help="passages to retrieve (default MALI_QA_TOP_K)")
    p.set_defaults(func=cmd_ask)
    p = sub.add_parser("chat", help="a conversation in the terminal, with follow-up questions")
    p.set_defaults(func=cmd_chat)
    from mali_qa.eval.command import add_command
    from mali_qa.server.command import add_command as add_serve

    add_command(sub)
    add_serve(sub)
    return parser


#: The options of `mali-qa ask`; any other word after it that starts with "-" is the question.
_ASK_OPTIONS = ("--json", "--top-k", "-h", "--help")


def _question_as_text(argv: Sequence[str]) -> list[str]:
    """`mali-qa ask "-5 degrees?"` asks the question rather than failing on an unknown option: a word after
    `ask` that starts with "-" and is none of its options (nor --top-k's value) is the question, as if
    written after `--`."""
    words = list(argv)
    command = next((i for i, w in enumerate(words) if not w.startswith("-")), None)
    if command is None or words[command] != "ask" or "--" in words:
        return words
    for i in range(command + 1, len(words)):
        word = words[i]
        if word.startswith("-") and word.split("=", 1)[0] not in _ASK_OPTIONS and words[i - 1] != "--top-k":
            return words[:i] + ["--"] + words[i:]
    return words


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_question_as_text(sys.argv[1:] if argv is None else argv))
    debug = _debug()
    _quiet_libraries(verbose=args.verbose, debug=debug)
    _tolerant_streams()
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        code = func(args)
        sys.stdout.flush()  # a closed pipe or a full disk shows here, not at exit
        return code
    except MaliQAError as exc:
        if debug:
            raise
        _say(f"mali-qa: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("mali-qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_PIPE
    except OSError as exc:
        if debug or exc.errno not in (errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT):
            raise
        _drop_stdout()
        print(f"mali-qa: error: cannot write the output ({os.strerror(exc.errno)})", file=sys.stderr)
        return EXIT_ERROR


#: Seconds `mali-qa ingest` waits for the lock before saying another ingest is running.
LOCK_GRACE_SECONDS = 3.0


def _quiet_libraries(*, verbose: bool, debug: bool) -> None:
    """Only mali-qa's own messages (warnings, or INFO with -v); other libraries' log lines, Python
    warnings and progress bars only with MALI_QA_DEBUG. A host that set up logging keeps its own."""
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    if not logging.root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        handler.setLevel(level)  # a library that set its own logger to DEBUG (bm25s) stops here
        if not debug:
            handler.addFilter(_own_or_serious)
        logging.root.addHandler(handler)
        logging.root.setLevel(level)
    if not debug:
        warnings.filterwarnings("ignore", module=r"(?!mali_qa)")
        os.environ.setdefault("DISABLE_TQDM", "1")  # bm25s's progress bars
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _own_or_serious(record: logging.LogRecord) -> bool:
    return record.name.startswith("mali_qa") or record.levelno >= logging.ERROR


def _tolerant_streams() -> None:
    """Bytes that are not UTF-8 in a chat line never end the session (they are dropped as the question is
    cleaned), and an answer never fails to print on a terminal that cannot show a character."""
    for stream, errors in ((sys.stdin, "surrogateescape"), (sys.stdout, "replace"), (sys.stderr, "replace")):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=errors)


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush of the unwritten text stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
