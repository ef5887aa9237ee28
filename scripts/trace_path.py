"""Trace one question's path through the answer stage: which `mali_qa.answer` modules the offline answer
enters, in order, and how many times it comes back to a module it had already left.

    python scripts/trace_path.py                      # the default question, the configured engine
    python scripts/trace_path.py "Who leads Mali's junta?" --engine rules

The path is read from the calls themselves (`sys.setprofile`): every Python call whose code lives in a
module of `mali_qa/answer/`, made from another module, enters that module; calls within a module, and
calls into modules outside the answer stage (text, names, numpy), are not steps, nor is a generator resumed
(the service reading the next piece of a streamed answer). Consecutive entries into the same module are one
step (a loop over candidates calling one helper). A step into a module already
entered earlier, after another module's step, is a return; the report prints the steps and the returns.
The index is loaded, and one other question answered, before the traced question: loading is not the path.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_QUESTION = "How many bases in northern Mali had the French handed to Malian forces?"
WARM = "What is Operation Barkhane?"
PACKAGE_DIR = "mali_qa" + os.sep + "answer" + os.sep


def module_of(frame: FrameType) -> str:
    """`answer/x.py` for a frame whose code lives in the answer stage, else ""."""
    path = frame.f_code.co_filename
    at = path.rfind(PACKAGE_DIR)
    return "answer/" + path[at + len(PACKAGE_DIR) :] if at >= 0 else ""


def trace(run: Any) -> list[str]:
    """The answer-stage modules `run()` enters, one entry per step (see the module's docstring)."""
    steps: list[str] = []
    started: list[FrameType] = []  # generators already running: resuming one is not a new step

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call":
            return
        if frame.f_code.co_flags & inspect.CO_GENERATOR:
            if any(f is frame for f in started):
                return
            started.append(frame)
        callee = module_of(frame)
        caller = module_of(frame.f_back) if frame.f_back is not None else ""
        if callee and callee != caller and (not steps or steps[-1] != callee):
            steps.append(callee)

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return steps


def returns(steps: list[str]) -> Iterator[str]:
    """Each step into a module already entered earlier."""
    seen: set[str] = set()
    for step in steps:
        if step in seen:
            yield step
        seen.add(step)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", default=DEFAULT_QUESTION)
    parser.add_argument(
        "--engine", choices=("learned", "rules"), help="the offline engine (default: settings)"
    )
    args = parser.parse_args()
    os.environ["MALI_QA_ENGINE"] = "offline"
    if args.engine:
        os.environ["MALI_QA_OFFLINE_ENGINE"] = args.engine
    from mali_qa import ask
    from mali_qa.service import default_settings

    settings = default_settings()
    ask(WARM, settings=settings)  # loads the index and the models
    steps = trace(lambda: ask(args.question, settings=settings))
    back = list(returns(steps))
    print(f"question: {args.question}")
    print(f"engine: {settings.offline_engine}")
    print("path: " + " -> ".join(steps))
    print(f"steps: {len(steps)}, modules: {len(set(steps))}, returns to a module already left: {len(back)}")
    for module, count in Counter(steps).most_common():
        print(f"  {module}: entered {count} time{'s' if count > 1 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
