"""The interpretable features the learned scorer reads: one vector per (question part, candidate sentence),
and one per question for the decision to answer or abstain. Names and order are part of the fitted model."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from mali_qa import cache, lexicon
from mali_qa.answer.candidates import Candidate
from mali_qa.answer.kinds import STRICT_KINDS, kind_of, part_kind_score
from mali_qa.answer.question import QuestionPart
from mali_qa.answer.vocabulary import Vocabulary
from mali_qa.names import new_names_near, new_person_name
from mali_qa.text import split_sentences, stem, stems
from mali_qa.types import Answer, Citation, Passage

#: Weight of the noun naming the answer's class ("which *countries*"): answers name instances, not the class.
ANSWER_CLASS_WEIGHT = 0.3

SENTENCE_FEATURES = (
    "coverage",
    "coverage_strict",
    "focus_coverage",
    "title_coverage",
    "rarest_matched",
    "similarity",
    "passage_cosine",
    "coverage_x_similarity",
    "kind",
    "kind_missing",
    "new_answer",
    "name_missing",
    "subject_agreement",
    "subject_conflict",
    "reciprocal_rank",
    "fused_score",
    "words",
    "short",
    "first_in_passage",
    "pronoun_start",
    "context_hits",
    # the rules engine's view, as evidence among others (added by the learned engine itself)
    "rules_score",
    "rules_quoted",
)
QUESTION_FEATURES = (
    "best",
    "second",
    "margin",
    "best_coverage",
    "best_similarity",
    "best_new_answer",
    "best_strict",
    "best_focus_any",
    "best_kind",
    "best_kind_missing",
    "best_name_missing",
    "best_subject_conflict",
    "top_passage_cosine",
    "unknown_names",
    "missing_head",
    "unknown_term_share",
    "terms",
    "strict_kind",
    "generic_kind",
    "rules_answered",
    "follow_up",
)


def new_answer(part: QuestionPart, text: str) -> float:
    """Whether the sentence holds something of the asked kind (a date, a number, a name) that the question
    does not already hold: a sentence that only repeats the question answers nothing."""
    asked = set(part.terms)
    for pattern in kind_of(part).shape:
        for found in _shaped(pattern, text):
            if any(w not in asked for w in found):
                return 1.0
    return 0.0


@cache.memo(maxsize=20_000)
def _shaped(pattern: re.Pattern[str], text: str) -> tuple[tuple[str, ...], ...]:
    """The stems of each match of a shape (a date, a number, a name) in a sentence, remembered: the same
    sentences come back question after question."""
    return tuple(
        tuple(stem(w) for w in re.findall(r"[\w’'\-]+", match.group(0))) for match in pattern.finditer(text)
    )


_NAME_ASKED = re.compile(r"\b(?:name|names|named|called)\b", re.I)


def wants_name(part: QuestionPart) -> bool:
    """Whether the question asks for a name ("what is the name of", "what was it called", "who")."""
    return part.kind in ("person", "place") or bool(_NAME_ASKED.search(part.text))


def new_name(part: QuestionPart, text: str) -> bool:
    """Whether the sentence holds a name the question does not: a person's name (two capitalized words) when
    a person's is asked, else a capitalized name (not a people, month or weekday) next to the noun whose name
    is asked when the sentence holds that noun ("Operation *Serval*", "the village of *Djallo*")."""
    asked = frozenset(part.terms)
    if part.needs_name:
        return new_person_name(text, asked)
    return bool(new_names_near(text, part.name_head, asked))


class Term(NamedTuple):
    """One term of a question part, as the sentence features read it."""

    stem: str
    forms: frozenset[str]  # the articles' stems that count as it (`Vocabulary.near`)
    idf: float
    weight: float  # the idf, discounted for the noun naming the answer's class
    in_focus: bool  # not a name of the asked subject
    is_number: bool


class PartTerms:
    """What the sentence features read of one question part, computed once per question: each term's IDF
    weight, whether it names the asked subject, and the part's headline coverage per article title."""

    def __init__(
        self, part: QuestionPart, vocabulary: Vocabulary, subjects: frozenset[str] = frozenset()
    ) -> None:
        self.part = part
        self.vocabulary = vocabulary
        self.subjects = subjects
        self.asked_peoples = peoples(part.text)
        self.terms = [
            Term(
                t,
                vocabulary.near(t),
                vocabulary.weight(t),
                vocabulary.weight(t) * (ANSWER_CLASS_WEIGHT if t in part.heads else 1.0),
                t not in subjects,
                t.isdigit(),
            )
            for t in part.terms
        ]
        self.total = sum(t.weight for t in self.terms)
        self.focus_total = sum(t.weight for t in self.terms if t.in_focus)
        self.rarest = max((t.idf for t in self.terms), default=1.0) or 1.0
        self.wants_name = wants_name(part)
        self._titles: dict[str, float] = {}

    def title_coverage(self, title: str) -> float:
        """The IDF-weighted share of the part's terms in an article's headline: the article is about it."""
        found = self._titles.get(title)
        if found is None:
            bag = frozenset(stems(title))
            total = sum(t.idf for t in self.terms)
            hit = sum(t.idf for t in self.terms if not t.forms.isdisjoint(bag))
            found = self._titles[title] = hit / total if total else 0.0
        return found


class Coverage(NamedTuple):
    """How one sentence covers a question part's terms, IDF-weighted (the rules engine's score reads the
    share, the learned engine's features all of it)."""

    share: float  # of the part's weighted terms, those only in the passage around it counting half
    strict: float  # of the part's weighted terms, in the sentence itself
    focus: float  # of the terms that are not names of the asked subject (1 when all are)
    rarest: float  # the idf of the rarest term the sentence holds, over that of the part's rarest
    context_hits: float  # share of the earlier turn's terms (a follow-up's context) the sentence holds


def cover(terms: PartTerms, cand: Candidate, soft: Sequence[str]) -> Coverage:
    """How `cand` covers the part's terms; a number counts only in the sentence itself."""
    covered = strict = focus = best = 0.0
    bag, context = cand.stems, cand.context
    for term in terms.terms:
        if not term.forms.isdisjoint(bag):
            covered += term.weight
            strict += term.weight
            focus += term.weight if term.in_focus else 0.0
            best = max(best, term.idf)
        elif not term.is_number and not term.forms.isdisjoint(context):
            covered += 0.5 * term.weight
    total = terms.total
    return Coverage(
        covered / total if total else 0.0,
        strict / total if total else 0.0,
        focus / terms.focus_total if terms.focus_total else 1.0,
        best / terms.rarest,
        sum(1 for t in soft if terms.vocabulary.has(t, bag)) / len(soft) if soft else 0.0,
    )


def sentence_features(
    terms: PartTerms, cand: Candidate, covered: Coverage, *, top_fused: float
) -> list[float]:
    """The features of one candidate sentence for one question part, in SENTENCE_FEATURES order (but for
    the rules engine's two, which the learned engine appends); `covered` is `cover(terms, cand, ...)`."""
    part, vocabulary, subjects = terms.part, terms.vocabulary, terms.subjects
    coverage = covered.share
    kind = part_kind_score(part, cand.text)
    agree = sum(1 for s in subjects if vocabulary.has(s, cand.stems))
    conflict = _conflict(terms.asked_peoples, cand.text, cand.stems)
    n_words = len(cand.text.split())
    similarity = max(cand.similarity, 0.0)
    return [
        coverage,
        covered.strict,
        covered.focus,
        terms.title_coverage(cand.passage.title),
        covered.rarest,
        similarity,
        max(cand.passage.dense_score, 0.0),
        coverage * similarity,
        kind,
        1.0 if part.kind in STRICT_KINDS and kind == 0.0 else 0.0,
        new_answer(part, cand.text),
        1.0 if terms.wants_name and not new_name(part, cand.text) else 0.0,
        agree / len(subjects) if subjects else 1.0,
        1.0 if conflict else 0.0,
        1.0 / (1.0 + cand.rank),
        cand.passage.score / top_fused if top_fused > 0 else 0.0,
        min(n_words, 80) / 40.0,
        1.0 if n_words < 6 else 0.0,
        1.0 if cand.start == cand.passage.start else 0.0,
        1.0 if cand.pronoun_start else 0.0,
        covered.context_hits,
    ]


class RuleView(Protocol):
    """The rules' scores of one question (`extractive.RuleScores`), as the features read them."""

    def terms(self, part: QuestionPart) -> PartTerms: ...

    def coverage(self, part: QuestionPart, cand: Candidate) -> Coverage: ...

    def __call__(self, part: QuestionPart, cand: Candidate) -> tuple[float, float]: ...


def feature_rows(
    qparts: Sequence[QuestionPart],
    cands: Sequence[Candidate],
    rules: RuleView,
    rules_answer: Answer,
    passages: Sequence[Passage],
) -> list[list[list[float]]]:
    """One row of SENTENCE_FEATURES per (part, candidate): the sentence's own, then the rules engine's view
    (its score, and whether its answer quotes the sentence)."""
    top_fused = max((p.score for p in passages), default=0.0)
    quoted = {(c.source, c.quote_start) for c in rules_answer.citations}
    quoted |= {(c.source, s) for c in rules_answer.citations for s in _quote_starts(rules_answer.text, c)}
    return [
        [
            sentence_features(rules.terms(part), cand, rules.coverage(part, cand), top_fused=top_fused)
            + [
                min(max(rules(part, cand)[0], -1.0), 2.0),
                1.0 if (cand.passage.article_id, cand.start) in quoted else 0.0,
            ]
            for cand in cands
        ]
        for part in qparts
    ]


def _quote_starts(text: str, citation: Citation) -> list[int]:
    """Article offsets of every sentence of the citation's passage quoted in the answer text."""
    starts = []
    for start, end in split_sentences(citation.text, offset=citation.start):
        sentence = citation.text[start - citation.start : end - citation.start]
        if sentence and sentence in text:
            starts.append(start)
    return starts


def unknown_term_share(qparts: Sequence[QuestionPart], vocabulary: Vocabulary) -> float:
    """The share of the question's weighted terms that no article uses (1 for a question of no term)."""
    weights = {t: vocabulary.weight(t) for p in qparts for t in p.terms}
    unknown = sum(w for t, w in weights.items() if vocabulary.frequency(t) == 0)
    return unknown / sum(weights.values()) if weights else 1.0


@cache.memo(maxsize=20_000)
def peoples(text: str) -> frozenset[str]:
    """The peoples a text names by their adjective ("Russian soldiers", "the French army"), as stems."""
    demonyms = lexicon.demonyms()
    return frozenset(demonyms[w.lower()] for w in re.findall(r"[A-Za-z]+", text) if w.lower() in demonyms)


def _conflict(asked: frozenset[str], sentence: str, bag: frozenset[str]) -> bool:
    if not asked or asked & bag:
        return False
    return bool(peoples(sentence) - asked)


def question_features(
    scores: Sequence[float],
    rows: Sequence[list[float]],
    *,
    parts: Sequence[QuestionPart],
    passages: Sequence[Passage],
    unknown_names: int,
    missing_head: bool,
    unknown_term_share: float,
    rules_answered: bool,
    follow_up: bool = False,
) -> list[float]:
    """The features of the decision to answer, in QUESTION_FEATURES order, from the ranker's scores of the
    main question part's candidates and their feature rows."""
    ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
    p1 = float(scores[ranked[0]]) if ranked else 0.0
    p2 = float(scores[ranked[1]]) if len(ranked) > 1 else p1
    top = rows[ranked[0]] if ranked else [0.0] * len(SENTENCE_FEATURES)
    index = SENTENCE_FEATURES.index

    kinds = {p.kind for p in parts}
    return [
        p1,
        p2,
        p1 - p2,
        top[index("coverage")],
        top[index("similarity")],
        top[index("new_answer")],
        top[index("coverage_strict")],
        max((r[index("focus_coverage")] for r in rows), default=0.0),
        top[index("kind")],
        top[index("kind_missing")],
        top[index("name_missing")],
        top[index("subject_conflict")],
        max((p.dense_score for p in passages), default=0.0),
        1.0 if unknown_names else 0.0,
        1.0 if missing_head else 0.0,
        unknown_term_share,
        min(sum(len(p.terms) for p in parts), 10) / 10.0,
        1.0 if kinds & STRICT_KINDS else 0.0,
        1.0 if kinds <= {"generic"} else 0.0,
        1.0 if rules_answered else 0.0,
        1.0 if follow_up else 0.0,
    ]
