"""Text primitives shared by chunking, retrieval and answering: sentences with offsets, terms, stems."""

from __future__ import annotations

import re
from collections.abc import Iterator

import Stemmer

from mali_qa import cache, lexicon

_ABBREVIATIONS = lexicon.abbreviations()
# A run of sentence-ending marks (tried only where the run starts, and without backtracking: linear time),
# its closing quotes or brackets, then whitespace and a capital or digit, or the end of the line.
_SENTENCE_END = re.compile(
    r"(?<![.!?])[.!?]++[\"'”’)\]]*+(?=\s++[\"'“‘(\[]?[A-Z0-9])|(?<![.!?])[.!?]++[\"'”’)\]]*+$"
)
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_WORD_OR_DOT = _LETTERS | {"."}
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")

#: A word as typo repair counts it (letters, inner apostrophes and hyphens).
LETTER_WORD = re.compile(r"[A-Za-z][A-Za-z’'\-]*")


def letter_words(text: str) -> list[str]:
    """The words of `text` as typo repair counts them, lower case (the ingest stores their counts)."""
    return [w.lower() for w in LETTER_WORD.findall(text)]


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) of every sentence of `text`, never crossing a line break; offsets shifted by `offset`."""
    return [(start + offset, end + offset) for start, end in _sentence_spans(text)]


@cache.memo(maxsize=4096)
def _sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """split_sentences at offset 0, remembered: a question splits the same retrieved passages several times."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        body, base = line.group(0), line.start()
        start = 0
        for match in _SENTENCE_END.finditer(body):
            end = match.end()
            word = _word_before(body, start, match.start())
            if word and (word.lower().rstrip(".") in _ABBREVIATIONS or len(word) == 1):
                continue
            _add_span(spans, body, start, end, base)
            start = end
        _add_span(spans, body, start, len(body), base)
    return tuple(spans)


#: The most words of a heading or pull quote: a longer line without a closing full stop is a sloppy paragraph.
HEADING_WORDS = 20
# What closes a sentence, with the quotes and brackets that may follow it.
_CLOSING_MARK = re.compile(r"[.!?…:;,][\"'”’)\]]*$")


def is_heading(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` (a sentence of `split_sentences`) is a heading, a pull quote or a byline
    ("Messy relationship", "“Mercenaries”", "Correspondent in Moscow"): the whole of its line, at most
    HEADING_WORDS words, ending without a sentence's closing mark. It is not a sentence of the article, so it
    is never quoted as one."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if text[line_start:start].strip() or text[end:line_end].strip():
        return False
    sentence = text[start:end]
    return len(sentence.split()) <= HEADING_WORDS and not _CLOSING_MARK.search(sentence)


#: A photo caption set in an article's text: "FILE - A French soldier joins MINUSMA troops in Mali, July 1,
#: 2013." (news agencies' mark of an archive photo), "Photo: ...".
_CAPTION = re.compile(r"^\W*(?:FILE(?: PHOTO)?\s*[-–—:]|(?:Photo|Picture|Image)\s*:)")


def is_caption(sentence: str) -> bool:
    """Whether a sentence is a photo's caption, not a sentence of the article: never quoted as one."""
    return bool(_CAPTION.match(sentence))


def _word_before(body: str, start: int, stop: int) -> str:
    """The word (`[A-Za-z][A-Za-z.]*`, within body[start:stop]) that the full stop at `stop` ends, or "":
    "Mr" for "Mr.", "U.S" for "U.S.". Scans back only over that word, so splitting stays linear."""
    if body[stop] != ".":
        return ""
    first = stop
    while first > start and body[first - 1] in _WORD_OR_DOT:
        first -= 1
    while first < stop and body[first] not in _LETTERS:
        first += 1
    return body[first:stop]


def _add_span(spans: list[tuple[int, int]], body: str, start: int, end: int, shift: int) -> None:
    chunk = body[start:end]
    stripped = chunk.strip()
    if not stripped or not re.search(r"\w", stripped):
        return
    lead = len(chunk) - len(chunk.lstrip())
    spans.append((shift + start + lead, shift + start + lead + len(stripped)))


def words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def text_pieces(text: str, size: int = 4) -> Iterator[str]:
    """`text` in pieces of a few words, as an answer streams; the pieces join back to `text` exactly."""
    tokens = text.split(" ")
    for i in range(0, len(tokens), size):
        yield " ".join(tokens[i : i + size]) + (" " if i + size < len(tokens) else "")


def word_count(text: str) -> int:
    return len(re.sub(r"\[\d+\]", " ", text).split())


#: The NLTK English stopwords we use plus question-frame and reporting words (data/stopwords_*.txt).
STOPWORDS = lexicon.stopwords()
# Word forms folded before stemming (data/*.tsv): irregular verbs ("left" -> "leav"), the adjectives of
# peoples ("malian" -> "mali"), number words ("fifteen" -> "15") and aliases ("un" -> "unit").
_IRREGULAR = lexicon.irregular_forms()
_DEMONYMS = lexicon.demonyms()
_NUMBER_WORDS = lexicon.number_values()
_ALIASES = lexicon.aliases()
_stemmer = Stemmer.Stemmer("english")
_STOP_STEMS = frozenset(str(_stemmer.stemWord(w)) for w in STOPWORDS if len(w) > 3)


#: Bump when `stem` changes (its code or the word maps in data/): stored term frequencies are then recomputed.
STEM_VERSION = 3


@cache.memo(maxsize=200_000)
def stem(word: str) -> str:
    """A normalized stem: irregular verbs, demonyms, number words and British spellings folded together."""
    word = word.lower().replace("’", "'").removesuffix("'s")
    if word in _ALIASES:
        return _ALIASES[word]
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word in _DEMONYMS:
        return _DEMONYMS[word]
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    word = word.replace(",", "")
    if re.fullmatch(r"\d+(\.\d+)?", word):
        return word
    word = (
        re.sub(r"our(?=(s|ed|ing|hood|ly)?$)", "or", word) if len(word) > 5 else word
    )  # neighbour -> neighbor
    word = (
        re.sub(r"is(e|ed|es|ing|ation)$", r"iz\1", word) if len(word) > 6 else word
    )  # criticise -> criticize
    return str(_stemmer.stemWord(word))


def stems(text: str) -> list[str]:
    return list(_stems(text))


@cache.memo(maxsize=20_000)
def _stems(text: str) -> tuple[str, ...]:
    """The stems of a text, remembered: questions keep retrieving the same passages and sentences."""
    return tuple(stem(w) for w in words(text))


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning, in order, without repeats."""
    seen: dict[str, None] = {}
    for w in words(text):
        if w in STOPWORDS or len(w) < 2:
            continue
        s = stem(w)
        if s not in _STOP_STEMS:
            seen.setdefault(s, None)
    return list(seen)


def stems_match(a: str, b: str) -> bool:
    """Equal stems, or the shorter (of at least four letters) a prefix of the longer (mali ~ malian)."""
    if a == b:
        return True
    if a.isdigit() or b.isdigit():
        return False
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 4 and long_.startswith(short)
