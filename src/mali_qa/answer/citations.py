"""Turn a model's reply into an Answer's text and citations: map its [n] markers to the numbered passages
it was shown, drop numbers that match none, renumber in order of first appearance, and check that each
cited sentence is supported by its passage (content-word overlap, plus embedding cosine when given)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from mali_qa import lexicon
from mali_qa.answer.compose import passage_citation
from mali_qa.names import specific_tokens
from mali_qa.planted import looks_like_instruction
from mali_qa.text import (
    content_stems,
    split_sentences,
    stem,
    stems,
    stems_match,
)
from mali_qa.types import NO_ANSWER, Citation, Passage

#: Texts to vectors (one per text); `LocalMiniLMEmbedding.get_text_embedding_batch` fits.
Embedder = Callable[[list[str]], Sequence[Sequence[float]]]

#: Longest whitespace a marker takes with it, and most brackets in one run of markers.
MARKER_GAP = 16
MARKER_RUN = 8
#: Longest inside of one bracket that the stream holds back while it may still close into a marker.
MARKER_INSIDE = 64
#: A run of markers as models write them: [3], [1, 2], [1; 4], [2][3], [-1], [1000], with up to MARKER_GAP
#: whitespace characters before it. Possessive quantifiers: no backtracking, so linear time on any reply.
MARKER = re.compile(rf"(\s{{0,{MARKER_GAP}}}+)((?:\[-?+\d++(?:\s*+[,;]\s*+-?+\d++)*+\]){{1,{MARKER_RUN}}}+)")
_INSIDE = frozenset(",;-")

#: Sentences of a reply whose support is checked; the prompt asks for under 100 words (a few sentences),
#: so a reply with more is far off the rules, and its further sentences count as unsupported, unchecked.
MAX_CHECKED_CLAIMS = 40
#: Share of a claim's content words found in the passage at which the claim counts as supported.
LEXICAL_SUPPORT = 0.6
#: With an embedder: cosine to the passage's closest sentence that, with some shared words, also counts.
COSINE_SUPPORT = 0.6
LEXICAL_FLOOR = 0.3


@dataclass
class Renumbering:
    """The state of marker renumbering: model number -> answer number, in order of first appearance."""

    valid: int
    numbers: dict[int, int] = field(default_factory=dict)
    dropped: list[int] = field(default_factory=list)

    def substitute(self, match: re.Match[str]) -> str:
        kept: list[int] = []
        for raw in re.findall(r"-?\d+", match.group(2)):
            n = int(raw)
            if not 1 <= n <= self.valid:
                self.dropped.append(n)
                continue
            if n not in self.numbers:
                self.numbers[n] = len(self.numbers) + 1
            if self.numbers[n] not in kept:
                kept.append(self.numbers[n])
        if not kept:
            return ""
        return match.group(1) + "".join(f"[{k}]" for k in kept)

    def apply(self, text: str) -> str:
        return MARKER.sub(self.substitute, text)


class MarkerStream:
    """Renumbers markers while a reply streams in, holding back only what may still be a marker; the pieces
    it returns join to exactly `process_reply(...).text` of the whole reply."""

    def __init__(self, n_passages: int) -> None:
        self.renumbering = Renumbering(n_passages)
        self._pending = ""
        self._started = False

    def feed(self, chunk: str) -> str:
        self._pending += chunk
        cut = open_tail(self._pending)
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return self._emit(self.renumbering.apply(ready))

    def flush(self) -> str:
        ready, self._pending = self._pending, ""
        return self._emit(self.renumbering.apply(ready).rstrip())

    def _emit(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        return text


def open_tail(text: str) -> int:
    """Where the part of `text` that may still grow into a run of markers begins (len(text) when none):
    up to MARKER_GAP whitespace characters, then brackets holding only digits, commas, semicolons, minus
    signs and whitespace, the last one maybe unclosed. Looks back a bounded distance: linear streaming."""
    ends = [len(text)] + ([len(text) - 1] if text.endswith("\n") else [])
    return min(_tail_start(text, end) for end in ends)


def _tail_start(text: str, end: int) -> int:
    cut = end
    for _ in range(MARKER_RUN):
        opening = text.rfind("[", max(0, cut - MARKER_INSIDE - 2), cut)
        if opening < 0:
            break
        inside = text[opening + 1 : cut]
        inside = inside[:-1] if inside.endswith("]") else inside
        if len(inside) > MARKER_INSIDE or not all(
            ch.isdecimal() or ch.isspace() or ch in _INSIDE for ch in inside
        ):
            break
        cut = opening
    gap = cut
    while gap > 0 and cut - gap < MARKER_GAP and text[gap - 1].isspace():
        gap -= 1
    return gap


@dataclass
class Processed:
    """A reply after post-processing: its text, its citations, and what did not hold up."""

    text: str
    citations: list[Citation]
    abstained: bool = False
    dropped: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


def is_no_answer(text: str) -> bool:
    """Whether the reply is the shared "The articles don't say." (markers, quotes, case and curly
    apostrophes aside)."""

    def norm(s: str) -> str:
        s = MARKER.sub("", s).replace("’", "'").lower()
        return re.sub(r"[^a-z' ]+", "", " ".join(s.split())).strip()

    return bool(text.strip()) and norm(text) == norm(NO_ANSWER)


def process_reply(reply: str, passages: Sequence[Passage], *, embed: Embedder | None = None) -> Processed:
    """Map the reply's [n] (n = position in `passages`, from 1) to citations, renumbered by first
    appearance; numbers outside 1..len(passages) are dropped; each citation's `supported` says whether
    every sentence citing it is backed by its passage."""
    if is_no_answer(reply):
        return Processed(text=NO_ANSWER, citations=[], abstained=True)
    renumbering = Renumbering(len(passages))
    text = renumbering.apply(reply).strip()
    order = sorted(renumbering.numbers, key=renumbering.numbers.__getitem__)
    cited = [passages[n - 1] for n in order]
    citations = [passage_citation(p) for p in cited]
    unsupported: list[str] = []
    unsupported_refs: set[int] = set()
    quotes: dict[int, tuple[float, int, int, str]] = {}
    evidence = [Evidence.of(p) for p in cited]
    for checked, (claim, refs) in enumerate(claims(text)):
        targets = [r for r in (refs or range(1, len(cited) + 1)) if 1 <= r <= len(cited)]
        if checked >= MAX_CHECKED_CLAIMS and targets:  # a reply far over 100 words: the rest is unchecked
            unsupported.append(claim)
            unsupported_refs.update(refs)
            continue
        best = [(support(claim, cited[r - 1], embed=embed, evidence=evidence[r - 1]), r) for r in targets]
        if not best:
            continue
        ok = any(s.supported for s, _ in best)
        if not ok:
            unsupported.append(claim)
            unsupported_refs.update(refs)
        for s, r in best:
            if refs and s.quote and s.score > quotes.get(r, (-1.0, 0, 0, ""))[0]:
                quotes[r] = (s.score, s.quote_start, s.quote_end, s.quote)
    for i, c in enumerate(citations, start=1):
        _, start, end, quote = quotes.get(i, (0.0, c.quote_start, c.quote_end, c.quote))
        citations[i - 1] = replace(
            c, supported=i not in unsupported_refs, quote=quote, quote_start=start, quote_end=end
        )
    return Processed(text=text, citations=citations, dropped=renumbering.dropped, unsupported=unsupported)


def claims(text: str) -> list[tuple[str, list[int]]]:
    """(sentence without markers, the answer numbers it cites) for every sentence of the answer text;
    a marker right after a sentence's end belongs to that sentence."""
    out: list[tuple[str, list[int]]] = []
    # Markers written after the full stop ("... 2022. [1]") belong to the sentence before them.
    normalized = re.sub(r"([.!?])((?:\s*+\[\d++\])++)", r"\2\1", text)
    for start, end in split_sentences(normalized):
        sentence = normalized[start:end]
        refs = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
        bare = " ".join(MARKER.sub("", sentence).split())
        if re.search(r"\w", bare):
            out.append((bare, list(dict.fromkeys(refs))))
    return out


@dataclass(frozen=True)
class Support:
    """How well one claim is backed by one passage."""

    supported: bool
    score: float
    lexical: float
    cosine: float | None = None
    quote: str = ""
    quote_start: int = 0
    quote_end: int = 0


@dataclass(frozen=True)
class Evidence:
    """A passage's sentences and stems, computed once per reply instead of once per claim."""

    spans: list[tuple[int, int]]
    sentences: list[str]
    bag: frozenset[str]
    sentence_stems: list[frozenset[str]]

    @classmethod
    def of(cls, passage: Passage) -> Evidence:
        spans = split_sentences(passage.text, offset=passage.start) or [(passage.start, passage.end)]
        sentences = [passage.text[s - passage.start : e - passage.start] for s, e in spans]
        bag = frozenset(stems(passage.text) + stems(passage.title))
        return cls(spans, sentences, bag, [frozenset(stems(s)) for s in sentences])


def support(
    claim: str, passage: Passage, *, embed: Embedder | None = None, evidence: Evidence | None = None
) -> Support:
    """Content-word overlap of the claim with the passage (and its headline), and the cosine of the claim
    with the passage's closest sentence when an embedder is given; the quote is the closest sentence."""
    terms = content_stems(claim)
    if not terms:
        return Support(True, 1.0, 1.0)
    evidence = evidence or Evidence.of(passage)
    spans, sentences, bag = evidence.spans, evidence.sentences, evidence.bag
    lexical = sum(1 for t in terms if _has(t, bag)) / len(terms)
    per_sentence = [sum(1 for t in terms if _has(t, own)) / len(terms) for own in evidence.sentence_stems]
    best = max(range(len(sentences)), key=per_sentence.__getitem__)
    cosine: float | None = None
    if embed is not None:
        try:
            vectors = embed([claim, *sentences])
            sims = [_cosine(vectors[0], v) for v in vectors[1:]]
            best = max(range(len(sims)), key=sims.__getitem__)
            cosine = sims[best]
        except Exception:  # an embedder failure leaves the lexical check alone
            cosine = None
    ok = lexical >= LEXICAL_SUPPORT or (
        cosine is not None and cosine >= COSINE_SUPPORT and lexical >= LEXICAL_FLOOR
    )
    # Numbers, codes and names must be in the passage itself; a claim that negates its sentence ("France
    # never announced ...") is not backed by it; and a sentence that gives orders to an AI (planted in an
    # article) supports nothing, even when the claim copies it.
    if (
        any(not _has(stem(t), bag) for t in specific_tokens(claim))
        or negated(claim) != negated(sentences[best])
        or looks_like_instruction(sentences[best])
    ):
        ok = False
    score = max(lexical, cosine or 0.0)
    start, end = spans[best]
    return Support(ok, score, lexical, cosine, sentences[best], start, end)


_NEGATION = re.compile(
    r"n't\b|\b(?:" + "|".join(re.escape(w) for w in lexicon.word_list("negations")) + r")\b", re.I
)


def negated(text: str) -> bool:
    """Whether a statement is negated: an odd number of negations ("not", "never", "no", "n't" ...)."""
    return len(_NEGATION.findall(text.replace("’", "'"))) % 2 == 1


def _has(term: str, bag: frozenset[str]) -> bool:
    return term in bag or any(stems_match(term, s) for s in bag)


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def number_passages(passages: Sequence[Passage]) -> str:
    """The passages as the model sees them: `[n] headline (date)` then the verbatim text."""
    blocks = []
    for n, p in enumerate(passages, start=1):
        head = p.title or p.article_id
        if p.date:
            head += f" ({p.date})"
        blocks.append(f"[{n}] {head}\n{p.text.strip()}")
    return "\n\n".join(blocks)
