"""Print (or, with --write, update) the README's settings table and `.env.example` from `config.describe()`.

.venv/bin/python scripts/settings_table.py           # print both
.venv/bin/python scripts/settings_table.py --write   # rewrite README.md's table and .env.example
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mali_qa.config import describe

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- settings-table -->", "<!-- /settings-table -->"
HEADER = "# mali-qa settings: copy to .env and fill in what you need. Every variable is optional."


def markdown_table() -> str:
    """The README's table: one row per variable, `(empty)` for an empty default."""
    rows = [f"| `{env}` | {default or '(empty)'} | {doc} |" for env, default, doc in describe()]
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows]) + "\n"


def env_example() -> str:
    """`.env.example`: every variable, unset, under a comment giving its meaning and default."""
    blocks = [HEADER]
    for env, default, doc in describe():
        blocks.append(f"# {doc}" + (f" (default: {default})" if default else "") + f"\n{env}=")
    return "\n\n".join(blocks) + "\n"


def readme_with_table(readme: str) -> str:
    """The README text with the part between the settings-table markers replaced by `markdown_table()`."""
    before, found, rest = readme.partition(START + "\n")
    _, found_end, after = rest.partition(END)
    if not (found and found_end):
        raise SystemExit(f"README.md has no {START} ... {END} section")
    return before + START + "\n" + markdown_table() + END + after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md and .env.example in place")
    if not parser.parse_args().write:
        print(markdown_table())
        print(env_example(), end="")
        return
    readme = ROOT / "README.md"
    readme.write_text(readme_with_table(readme.read_text(encoding="utf-8")), encoding="utf-8")
    (ROOT / ".env.example").write_text(env_example(), encoding="utf-8")
    print("updated README.md's settings table and .env.example")


if __name__ == "__main__":
    main()
