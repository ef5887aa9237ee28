"""What text may enter mali-qa: invalid Unicode, control, format and zero-width characters are removed from
questions, history and articles at the boundary, and look-alike letters of mixed-script words folded."""

from __future__ import annotations

import re
import unicodedata

#: Categories dropped from any text: surrogates (Cs), unassigned code points and noncharacters (Cn),
#: private use (Co), and format characters (Cf: zero-width spaces and joiners, bidi overrides, BOMs).
_DROPPED = frozenset({"Cs", "Cn", "Co", "Cf"})
#: Cyrillic and Greek letters that look like Latin ones; folded only inside a word that mixes them with
#: Latin letters ("Мali" with a Cyrillic М), so that Russian or Greek words stay as they are.
_LOOKALIKES = str.maketrans(
    "АВЕКМНОРСТХУІЈЅаеорсухіјѕԁԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧοικνρ",
    "ABEKMHOPCTXYIJSaeopcyxijsdqwABEZHIKMNOPTYXoikvp",
)
_FOLDABLE = frozenset("АВЕКМНОРСТХУІЈЅаеорсухіјѕԁԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧοικνρ")
_WORD = re.compile(r"\w+")
_ASCII_LETTER = re.compile(r"[A-Za-z]")


def _kept(ch: str) -> bool:
    return unicodedata.category(ch) not in _DROPPED


def drop_invalid(text: str) -> str:
    """`text` without surrogates, noncharacters, unassigned or private-use code points and format
    characters; control characters other than tab and newline become spaces."""
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
        elif unicodedata.category(ch) == "Cc":
            out.append(" ")
        elif _kept(ch):
            out.append(ch)
    return "".join(out)


def _fold_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if _ASCII_LETTER.search(word) and any(ch in _FOLDABLE for ch in word):
        return word.translate(_LOOKALIKES)
    return word


def clean_input(text: str) -> str:
    """A question or a history turn as mali-qa reads it: invalid and invisible characters dropped,
    compatibility forms folded (NFKC: full-width letters, ligatures), look-alike letters of mixed-script
    words made Latin, and whitespace collapsed."""
    text = unicodedata.normalize("NFKC", drop_invalid(text))
    text = drop_invalid(text)  # NFKC can make format characters of compatibility ones
    if not text.isascii():
        text = _WORD.sub(_fold_word, text)
    return " ".join(text.split())


def clean_article(text: str) -> str:
    """An article's raw text with invalid and invisible characters dropped (its letters are kept as
    written: quotes must stay verbatim)."""
    return drop_invalid(text)


def invalid_unicode(text: str) -> bool:
    """Whether `text` holds a lone surrogate (a file name that was not valid UTF-8, say)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
