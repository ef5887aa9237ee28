"""Print (or, with --write, update) docs/configuration.md's settings table and `.env.example` from `describe()`.

.venv/bin/python scripts/settings_table.py           # print both
.venv/bin/python scripts/settings_table.py --write   # rewrite docs/configuration.md's table and .env.example
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mali_qa.config import describe

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- settings-table -->", "<!-- /settings-table -->"
DOCUMENT = ROOT / "docs" / "configuration.md"
HEADER = "# mali-qa settings: copy to .env and fill in what you need. Every variable is optional."


def markdown_table() -> str:
    """The settings table: one row per variable, `(empty)` for an empty default."""
    rows = [f"| `{env}` | {default or '(empty)'} | {doc} |" for env, default, doc in describe()]
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows]) + "\n"


def env_example() -> str:
    """`.env.example`: every variable, unset, under a comment giving its meaning and default."""
    blocks = [HEADER]
    for env, default, doc in describe():
        blocks.append(f"# {doc}" + (f" (default: {default})" if default else "") + f"\n{env}=")
    return "\n\n".join(blocks) + "\n"


def document_with_table(document: str) -> str:
    """The document's text with the part between the settings-table markers replaced by `markdown_table()`."""
    before, found, rest = document.partition(START + "\n")
    _, found_end, after = rest.partition(END)
    if not (found and found_end):
        raise SystemExit(f"{DOCUMENT.relative_to(ROOT)} has no {START} ... {END} section")
    return before + START + "\n" + markdown_table() + END + after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help="update docs/configuration.md and .env.example in place"
    )
    if not parser.parse_args().write:
        print(markdown_table())
        print(env_example(), end="")
        return
    DOCUMENT.write_text(document_with_table(DOCUMENT.read_text(encoding="utf-8")), encoding="utf-8")
    (ROOT / ".env.example").write_text(env_example(), encoding="utf-8")
    print("updated the settings table of docs/configuration.md and .env.example")


if __name__ == "__main__":
    main()
