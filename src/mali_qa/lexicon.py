"""The word lists and maps of the package (stopwords, stem folds, month and number words), read once from
the plain-text files of `mali_qa/data/`.

A `.txt` file holds one word per line; a `.tsv` file one `word<TAB>value` per line (the value may be
empty). Lines starting with `#` are comments and blank lines are skipped. Standard library only: this
module is imported by the light modules (`mali_qa.text`)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType

from mali_qa import cache


@cache.memo()
def _lines(name: str) -> tuple[str, ...]:
    text = resources.files("mali_qa").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@cache.memo()
def word_list(name: str) -> tuple[str, ...]:
    """The words of `data/<name>.txt`, in file order."""
    return _lines(f"{name}.txt")


@cache.memo()
def word_map(name: str) -> Mapping[str, str]:
    """`data/<name>.tsv` as word -> value, in file order; a line without a tab maps its word to ""."""
    pairs = (line.split("\t", 1) for line in _lines(f"{name}.tsv"))
    return MappingProxyType({pair[0].strip(): (pair[1].strip() if len(pair) > 1 else "") for pair in pairs})


@cache.memo()
def stopwords() -> frozenset[str]:
    """The NLTK English stopwords we use plus our own question-frame and reporting words."""
    return frozenset(word_list("stopwords_english") + word_list("stopwords_domain"))


@cache.memo()
def abbreviations() -> frozenset[str]:
    """Abbreviations whose full stop ends no sentence, month abbreviations included."""
    return frozenset(word_list("abbreviations") + month_abbreviations())


def months() -> tuple[str, ...]:
    """Month names, January to December, lower case."""
    return word_list("months")


def month_abbreviations() -> tuple[str, ...]:
    """Every month abbreviation ("jan", "sept"), lower case, in calendar order."""
    return tuple(word_map("month_abbreviations"))


@cache.memo()
def dated_month_abbreviations() -> tuple[str, ...]:
    """The month abbreviations news style writes before a day ("Sept. 12"), lower case, in calendar order."""
    return tuple(a for a, style in word_map("month_abbreviations").items() if style == "dated")


def weekdays() -> tuple[str, ...]:
    """Weekday names, Monday to Sunday, lower case."""
    return word_list("weekdays")


def number_words() -> tuple[str, ...]:
    """Every number word ("one", "dozens", "several hundred"), in the order a regex should try them."""
    return tuple(word_map("number_words"))


@cache.memo()
def number_values() -> Mapping[str, str]:
    """The number words `text.stem` folds to digits: word -> digits ("fifteen" -> "15")."""
    return MappingProxyType({word: digits for word, digits in word_map("number_words").items() if digits})


def irregular_forms() -> Mapping[str, str]:
    """Irregular word forms -> the stem of their base word ("left" -> "leav")."""
    return word_map("irregular_verbs")


def demonyms() -> Mapping[str, str]:
    """Demonyms -> the stem of their place ("malian" -> "mali")."""
    return word_map("demonyms")


def aliases() -> Mapping[str, str]:
    """Words folded to another word's stem ("un" -> "unit")."""
    return word_map("aliases")
