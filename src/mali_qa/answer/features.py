"""The interpretable features the learned scorer reads: one vector per (question part, candidate sentence),
and one per question for the decision to answer or abstain. Names and order are part of the fitted model."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mali_qa import cache, lexicon
from mali_qa.answer.candidates import Candidate
from mali_qa.answer.coverage import PartScores, PartTerms, Scores
from mali_qa.answer.kinds import STRICT_KINDS
from mali_qa.answer.question import QuestionPart
from mali_qa.names import new_names_near, new_person_name
from mali_qa.text import split_sentences, stem, stems
from mali_qa.types import Answer, Citation, Passage

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
    "announced",
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


def new_answer(shape: tuple[re.Pattern[str], ...], asked: frozenset[str], text: str) -> float:
    """Whether the sentence holds something of the asked kind (a date, a number, a name: `shape`) that the
    question (its stems `asked`) does not already hold: a sentence that only repeats the question answers
    nothing."""
    for pattern in shape:
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


def new_name(part: QuestionPart, text: str) -> bool:
    """Whether the sentence holds a name the question does not: a person's name (two capitalized words) when
    a person's is asked, else a capitalized name (not a people, month or weekday) next to the noun whose name
    is asked when the sentence holds that noun ("Operation *Serval*", "the village of *Djallo*")."""
    asked = frozenset(part.terms)
    if part.needs_name:
        return new_person_name(text, asked)
    return bool(new_names_near(text, part.name_head, asked))


def feature_rows(
    qparts: Sequence[QuestionPart],
    cands: Sequence[Candidate],
    scores: Scores,
    rules_answer: Answer,
    passages: Sequence[Passage],
) -> list[list[list[float]]]:
    """One row of SENTENCE_FEATURES per (part, candidate): the sentence's own, then the rules engine's view
    (its score, and whether its answer quotes the sentence)."""
    top_fused = max((p.score for p in passages), default=0.0)
    quoted = {(c.source, c.quote_start) for c in rules_answer.citations}
    quoted |= {(c.source, s) for c in rules_answer.citations for s in _quote_starts(rules_answer.text, c)}
    rows = []
    for part in qparts:
        scored = scores[part.text]
        asked_peoples = peoples(scored.terms.part.text)
        titles = {p.title: _title_coverage(scored.terms, p.title) for p in passages}
        rows.append(
            [
                sentence_features(
                    scored, i, cand, asked_peoples, titles[cand.passage.title], top_fused=top_fused
                )
                + [
                    min(max(scored.score[i], -1.0), 2.0),
                    1.0 if (cand.passage.article_id, cand.start) in quoted else 0.0,
                ]
                for i, cand in enumerate(cands)
            ]
        )
    return rows


def sentence_features(
    scored: PartScores,
    i: int,
    cand: Candidate,
    asked_peoples: frozenset[str],
    title_coverage: float,
    *,
    top_fused: float,
) -> list[float]:
    """The features of candidate `i` (`cand`) for one scored question part, in SENTENCE_FEATURES order (but
    for the rules engine's two, which `feature_rows` appends); `title_coverage` is its headline's."""
    terms = scored.terms
    part, subjects, covered, kind = terms.part, terms.subjects, scored.coverage[i], scored.kind[i]
    coverage = covered.share
    agree = sum(1 for forms in terms.subject_forms if not forms.isdisjoint(cand.stems))
    conflict = _conflict(asked_peoples, cand.text, cand.stems)
    n_words = len(cand.text.split())
    similarity = max(cand.similarity, 0.0)
    return [
        coverage,
        covered.strict,
        covered.focus,
        title_coverage,
        covered.rarest,
        similarity,
        max(cand.passage.dense_score, 0.0),
        coverage * similarity,
        kind,
        1.0 if part.kind in STRICT_KINDS and kind == 0.0 else 0.0,
        new_answer(scored.shape, frozenset(part.terms), cand.text),
        1.0 if part.wants_name and not new_name(part, cand.text) else 0.0,
        agree / len(subjects) if subjects else 1.0,
        1.0 if conflict else 0.0,
        1.0 / (1.0 + cand.rank),
        cand.passage.score / top_fused if top_fused > 0 else 0.0,
        min(n_words, 80) / 40.0,
        1.0 if n_words < 6 else 0.0,
        1.0 if cand.start == cand.passage.start else 0.0,
        1.0 if cand.pronoun_start else 0.0,
        covered.context_hits,
        1.0 if part.kind == "date" and announces(cand.stems) and not asks_about_saying(part.text) else 0.0,
    ]


@cache.memo()
def _announcing() -> frozenset[str]:
    return frozenset(stem(w) for w in lexicon.word_list("announcing_words"))


@cache.memo()
def _saying() -> frozenset[str]:
    return _announcing() | frozenset(stem(w) for w in lexicon.word_list("saying_words"))


def announces(sentence_stems: frozenset[str]) -> bool:
    """Whether a sentence reports a plan or an announcement ("when it announced its withdrawal"): a date in
    it may be the announcement's, not the event's (data/announcing_words.txt)."""
    return not _announcing().isdisjoint(sentence_stems)


def asks_about_saying(question: str) -> bool:
    """Whether a question asks about a statement or an announcement ("when did Macron say …")."""
    return not _saying().isdisjoint(stems(question))


def _title_coverage(terms: PartTerms, title: str) -> float:
    """The IDF-weighted share of the part's terms in an article's headline: the article is about it."""
    bag = frozenset(stems(title))
    total = sum(t.idf for t in terms.terms)
    hit = sum(t.idf for t in terms.terms if not t.forms.isdisjoint(bag))
    return hit / total if total else 0.0


def _quote_starts(text: str, citation: Citation) -> list[int]:
    """Article offsets of every sentence of the citation's passage quoted in the answer text."""
    starts = []
    for start, end in split_sentences(citation.text, offset=citation.start):
        sentence = citation.text[start - citation.start : end - citation.start]
        if sentence and sentence in text:
            starts.append(start)
    return starts


def unknown_term_share(qparts: Sequence[QuestionPart], scores: Scores) -> float:
    """The share of the question's weighted terms that no article uses (1 for a question of no term)."""
    weights = {t.stem: (t.idf, t.known) for p in qparts for t in scores[p.text].terms.terms}
    unknown = sum(w for w, known in weights.values() if not known)
    return unknown / sum(w for w, _ in weights.values()) if weights else 1.0


@cache.memo(maxsize=20_000)
def peoples(text: str) -> frozenset[str]:
    """The peoples a text names by their adjective ("Russian soldiers", "the French army"), as stems."""
    demonyms = lexicon.demonyms()
    return frozenset(demonyms[w.lower()] for w in re.findall(r"[A-Za-z]+", text) if w.lower() in demonyms)


def _conflict(asked: frozenset[str], sentence: str, bag: frozenset[str]) -> bool:
    if not asked or asked & bag:
        return False
    return bool(peoples(sentence) - asked)
