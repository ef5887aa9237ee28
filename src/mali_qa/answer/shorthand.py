"""Chat shorthand in a question ("ppl", "govt", "pm", "wat", "b4") written out, before typo repair, so that
retrieval and the answer step read the words the articles use (data/shorthand.tsv)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from mali_qa import cache, lexicon

#: The third column of data/shorthand.tsv: the word means something else after a number ("1 pm").
NOT_AFTER_NUMBER = "not after a number"


@cache.memo()
def _table() -> tuple[Mapping[str, tuple[str, bool]], re.Pattern[str]]:
    """Shorthand -> (what it stands for, whether it is left alone after a number), and the pattern that
    finds any of them as a whole word."""
    table: dict[str, tuple[str, bool]] = {}
    for word, value in lexicon.word_map("shorthand").items():
        full, _, flag = value.partition("\t")
        table[word.lower()] = (full.strip(), flag.strip() == NOT_AFTER_NUMBER)
    alternatives = "|".join(re.escape(w) for w in sorted(table, key=len, reverse=True))
    return table, re.compile(rf"(?<![\w’'\-.])(?:{alternatives})(?![\w’'\-]|\.\w)", re.I)


def expand(text: str) -> str:
    """`text` with each shorthand word written out ("how many ppl" -> "how many people"); a word in capitals
    of two letters or more ("PM") is written out too, but never one that follows a number ("at 1 pm")."""
    table, pattern = _table()

    def written_out(match: re.Match[str]) -> str:
        word = match.group(0)
        full, not_after_number = table[word.lower()]
        if not_after_number and re.search(r"\d\s*$", text[: match.start()]):
            return word
        return full.capitalize() if word[:1].isupper() and not word.isupper() else full

    return pattern.sub(written_out, text)
