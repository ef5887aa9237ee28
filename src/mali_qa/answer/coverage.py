"""How each candidate sentence covers each part of the question, and the rules' score of it: computed once
per question, in phases (the parts' weighted terms, then every coverage, then every kind score), and read by
the rules engine's choice and by the learned engine's features alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from mali_qa.answer.candidates import Candidate
from mali_qa.answer.kinds import GENERIC, KINDS, STRICT_KINDS, part_kind_score
from mali_qa.answer.question import QuestionPart
from mali_qa.answer.vocabulary import Vocabulary

#: Weight of the noun naming the answer's class ("which *countries*"): answers name instances, not the class.
ANSWER_CLASS_WEIGHT = 0.3
#: Weight of a sentence's embedding cosine to the question in the rules' score (coverage weighs 1).
SIMILARITY_WEIGHT = 0.6


class Term(NamedTuple):
    """One term of a question part, as the coverage reads it."""

    stem: str
    forms: frozenset[str]  # the articles' stems that count as it (`Vocabulary.near`)
    idf: float
    weight: float  # the idf, discounted for the noun naming the answer's class
    in_focus: bool  # not a name of the asked subject
    is_number: bool
    known: bool  # some article uses it


class PartTerms:
    """One question part's terms, looked up once per question: each term's IDF weight and forms, whether it
    names the asked subject, and the forms of the asked subjects."""

    def __init__(
        self, part: QuestionPart, vocabulary: Vocabulary, subjects: frozenset[str] = frozenset()
    ) -> None:
        self.part = part
        self.subjects = subjects
        self.subject_forms = [vocabulary.near(s) for s in subjects]
        self.terms = [
            Term(
                t,
                vocabulary.near(t),
                vocabulary.weight(t),
                vocabulary.weight(t) * (ANSWER_CLASS_WEIGHT if t in part.heads else 1.0),
                t not in subjects,
                t.isdigit(),
                vocabulary.frequency(t) > 0,
            )
            for t in part.terms
        ]
        self.total = sum(t.weight for t in self.terms)
        self.focus_total = sum(t.weight for t in self.terms if t.in_focus)
        self.rarest = max((t.idf for t in self.terms), default=1.0) or 1.0


class Coverage(NamedTuple):
    """How one sentence covers a question part's terms, IDF-weighted (the rules engine's score reads the
    share, the learned engine's features all of it)."""

    share: float  # of the part's weighted terms, those only in the passage around it counting half
    strict: float  # of the part's weighted terms, in the sentence itself
    focus: float  # of the terms that are not names of the asked subject (1 when all are)
    rarest: float  # the idf of the rarest term the sentence holds, over that of the part's rarest
    context_hits: float  # share of the earlier turn's terms (a follow-up's context) the sentence holds


class PartScores(NamedTuple):
    """One question part over every candidate sentence (lists in the candidates' order)."""

    terms: PartTerms
    coverage: list[Coverage]
    kind: list[float]  # how well the sentence holds the asked kind of answer (`kinds.kind_score`)
    score: list[float]  # the rules' score
    shape: tuple  # what counts as a new answer of the part's kind (`kinds.Kind.shape`)


#: Each scored part by its text: parts of one text are scored once, as the first of them.
Scores = dict[str, PartScores]


def score_parts(
    qparts: Iterable[QuestionPart],
    cands: Sequence[Candidate],
    vocabulary: Vocabulary,
    soft: Sequence[str],
    subjects: frozenset[str],
    known: Scores | None = None,
) -> Scores:
    """`known` and the parts it lacks, scored over every candidate: their terms, every sentence's
    coverage (`soft`: the earlier turn's terms), every kind score, then the rules' score of each."""
    fresh: dict[str, QuestionPart] = {}
    for part in qparts:
        if part.text not in (known or {}):
            fresh.setdefault(part.text, part)
    terms = {text: PartTerms(part, vocabulary, subjects) for text, part in fresh.items()}
    soft_forms = [vocabulary.near(t) for t in soft]
    covers = {text: [cover(terms[text], c, soft_forms) for c in cands] for text in fresh}
    kinds = {text: [part_kind_score(part, c.text) for c in cands] for text, part in fresh.items()}
    scores = dict(known or {})
    for text, part in fresh.items():
        rules = [
            rule_score(part, c, cv, k) for c, cv, k in zip(cands, covers[text], kinds[text], strict=True)
        ]
        shape = KINDS.get(part.kind, GENERIC).shape
        scores[text] = PartScores(terms[text], covers[text], kinds[text], rules, shape)
    return scores


def cover(terms: PartTerms, cand: Candidate, soft_forms: Sequence[frozenset[str]]) -> Coverage:
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
        sum(1 for forms in soft_forms if not forms.isdisjoint(bag)) / len(soft_forms) if soft_forms else 0.0,
    )


def rule_score(part: QuestionPart, cand: Candidate, covered: Coverage, kind: float) -> float:
    """The hand-set score of a sentence for a question part, from how it covers the part's terms and how well
    it holds the asked kind of answer (`kind`)."""
    if part.kind in STRICT_KINDS and kind == 0.0:
        return -1.0
    n_words = len(cand.text.split())
    return (
        covered.share
        + 0.3 * kind
        + SIMILARITY_WEIGHT * max(cand.similarity, 0.0)
        + 0.1 * max(cand.passage.dense_score, 0.0)
        + 0.1 * covered.context_hits
        - (0.1 if n_words < 6 else 0.0)
        - 0.001 * max(n_words - 45, 0)
    )
