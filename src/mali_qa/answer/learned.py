"""The learned offline engine (the default; MALI_QA_OFFLINE_ENGINE=rules picks the hand-set one): the rules
engine's candidate sentences and composition, with a fitted model (`answer.scorer`) that ranks every
sentence from interpretable features (`answer.features`) and decides whether the best ones answer at all."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from mali_qa.answer.candidates import Candidate
from mali_qa.answer.condense import Condensed, condense
from mali_qa.answer.extractive import (
    ExtractiveEngine,
    RuleScores,
    _same,
    _words,
    abstain,
    compose,
)
from mali_qa.answer.features import question_features, sentence_features, subject_stems
from mali_qa.answer.question import POINTING_BACK, QuestionPart, parts
from mali_qa.answer.scorer import Scorer, shipped_scorer
from mali_qa.answer.short import short_answer
from mali_qa.answer.vocabulary import Vocabulary
from mali_qa.text import split_sentences, word_count
from mali_qa.types import Answer, Citation, Passage, Turn

#: A runner-up sentence is quoted only while the answer stays within this many words.
RUNNER_UP_WORDS = 70
#: A list may run longer, to name more of its items.
LIST_WORD_BUDGET = 90


@dataclass
class Analysis:
    """What the engine reads off one question and its passages before any decision: the candidate
    sentences, the question's parts, and one feature row per (part, candidate)."""

    engine: LearnedEngine
    condensed: Condensed
    passages: Sequence[Passage]
    candidates: list[Candidate]
    parts: list[QuestionPart]
    rows: list[list[list[float]]]
    unknown_names: int
    missing_head: bool
    unknown_term_share: float
    rules_answered: bool


@dataclass
class Decision:
    """The sentences chosen, the features of the decision to answer, and its probability."""

    chosen: list[Candidate]
    features: list[float]
    probability: float = 0.0
    answer: bool = False


class LearnedEngine(ExtractiveEngine):
    """Answers with cited verbatim sentences chosen by the fitted scorer, or abstains with NO_ANSWER."""

    def __init__(self, vocabulary: Vocabulary, scorer: Scorer | None = None) -> None:
        super().__init__(vocabulary)
        self._scorer = scorer

    @property
    def scorer(self) -> Scorer:
        """The fitted model: the one given, else the weights shipped in the package (read on first use)."""
        return self._scorer or shipped_scorer()

    # -- features -------------------------------------------------------------------------------------
    def analyse(self, condensed: Condensed, passages: Sequence[Passage]) -> Analysis:
        question = condensed.question
        cands = self.candidates(passages)
        subjects = subject_stems(question)
        top_fused = max((p.score for p in passages), default=0.0)
        scores = RuleScores(self, condensed.context_terms, subjects)
        qparts = [p for p in resolve_pointing(parts(question, keep_pointing=True), cands, scores) if p.terms]
        rules = self.rules_answer(condensed, passages, cands, scores)
        quoted = {(c.source, c.quote_start) for c in rules.citations}
        quoted |= {(c.source, s) for c in rules.citations for s in _quote_starts(rules.text, c)}
        rows = [
            [
                sentence_features(scores.terms(part), cand, scores.coverage(part, cand), top_fused=top_fused)
                + [
                    min(max(scores(part, cand)[0], -1.0), 2.0),
                    1.0 if (cand.passage.article_id, cand.start) in quoted else 0.0,
                ]
                for cand in cands
            ]
            for part in qparts
        ]
        weights = {t: self.vocabulary.weight(t) for p in qparts for t in p.terms}
        unknown = sum(w for t, w in weights.items() if self.vocabulary.frequency(t) == 0)
        return Analysis(
            self,
            condensed,
            passages,
            cands,
            qparts,
            rows,
            unknown_names=len(self.unknown_names(question)),
            missing_head=bool(self.missing_head(question)),
            unknown_term_share=unknown / sum(weights.values()) if weights else 1.0,
            rules_answered=rules.answered,
        )

    # -- decision -------------------------------------------------------------------------------------
    def decide(self, analysis: Analysis, scorer: Scorer) -> Decision:
        """The best sentence of each part (and a near-equal runner-up, and for a list more items), then
        whether they answer at all."""
        chosen: list[Candidate] = []
        main_scores: list[float] = []
        main_rows: list[list[float]] = []
        cands = analysis.candidates
        for part, rows in zip(analysis.parts, analysis.rows, strict=True):
            if not rows:
                continue
            score = scorer.sentence.logit(np.array(rows))
            order = np.argsort(-score, kind="stable")
            top = int(order[0])
            if not main_rows:  # the first part's scores decide whether to answer
                main_scores, main_rows = score.tolist(), rows
            if not _same(cands[top], chosen):
                chosen.append(cands[top])
            for i in order[1:]:
                cand = cands[int(i)]
                if score[top] - score[i] > scorer.runner_up_margin:
                    break
                if not _same(cand, chosen) and _words(chosen) + word_count(cand.text) <= RUNNER_UP_WORDS:
                    chosen.append(cand)  # two near-equal readings: quote both rather than guess
                    break
            if part.kind == "list":
                chosen.extend(_more_items(cands, score, order, chosen, scorer.runner_up_margin))
        features = question_features(
            main_scores,
            main_rows,
            parts=analysis.parts,
            passages=analysis.passages,
            unknown_names=analysis.unknown_names,
            missing_head=analysis.missing_head,
            unknown_term_share=analysis.unknown_term_share,
            rules_answered=analysis.rules_answered,
            follow_up=analysis.condensed.rewritten,
        )
        p_answer = float(scorer.answer.probability(np.array(features))[0])
        return Decision(chosen, features, p_answer, bool(chosen) and p_answer >= scorer.threshold)

    # -- answer ---------------------------------------------------------------------------------------
    def answer(self, condensed: Condensed, passages: Sequence[Passage]) -> Answer:
        if not passages:
            return abstain(condensed, passages)
        return self.answer_from(self.analyse(condensed, passages), self.scorer)

    def answer_from(self, analysis: Analysis, scorer: Scorer) -> Answer:
        decision = self.decide(analysis, scorer)
        if not decision.answer:
            return abstain(analysis.condensed, analysis.passages)
        answer = compose(analysis.condensed, decision.chosen, analysis.passages, best_first=True)
        return with_short(answer, analysis.parts[0], decision.chosen[0]) if analysis.parts else answer


def resolve_pointing(
    qparts: list[QuestionPart], cands: list[Candidate], scores: RuleScores
) -> list[QuestionPart]:
    """The question's parts, a later one that points back with a pronoun rewritten as a follow-up of the
    first part and the sentence that answers it best by the rules ("who owned Wagner and what happened to
    *him*": "what happened to Evgueni Prigozhin")."""
    if len(qparts) < 2 or not cands or not qparts[0].terms:
        return qparts
    first = qparts[0]
    best = max(cands, key=lambda cand: scores(first, cand)[0])
    history: list[Turn] = [
        {"role": "user", "content": first.text},
        {"role": "assistant", "content": best.text},
    ]
    resolved = [first]
    for part in qparts[1:]:
        if POINTING_BACK.search(part.text):
            rewritten = condense(part.text, history).question
            if rewritten != part.text:
                part = parts(rewritten)[0]
        resolved.append(part)
    return resolved


def with_short(answer: Answer, part: QuestionPart, best: Candidate) -> Answer:
    """The answer with its short form (and the offsets of it in the citation of the best sentence)."""
    short = short_answer(part, best.text, best.start)
    if short is None:
        return answer
    answer.short = short.shown
    answer.citations = [
        replace(c, answer_start=short.start, answer_end=short.end)
        if c.source == best.passage.article_id and c.start <= short.start and short.end <= c.end
        else c
        for c in answer.citations
    ]
    return answer


def _quote_starts(text: str, citation: Citation) -> list[int]:
    """Article offsets of every sentence of the citation's passage quoted in the answer text."""
    starts = []
    for start, end in split_sentences(citation.text, offset=citation.start):
        sentence = citation.text[start - citation.start : end - citation.start]
        if sentence and sentence in text:
            starts.append(start)
    return starts


def _more_items(
    cands: list[Candidate], score: np.ndarray, order: np.ndarray, chosen: list[Candidate], margin: float
) -> list[Candidate]:
    """For a list question: up to two more sentences, among the likely ones, naming items not yet given."""
    have = " ".join(c.text for c in chosen)
    top = float(score[order[0]])
    extra: list[Candidate] = []
    for i in order[1:]:
        cand = cands[int(i)]
        if len(extra) >= 2 or top - score[i] > 2 * margin:
            break
        if _same(cand, chosen + extra) or _words(chosen + extra) + word_count(cand.text) > LIST_WORD_BUDGET:
            continue
        new_names = set(re.findall(r"\b[A-Z][a-z]{3,}\b", cand.text)) - set(
            re.findall(r"\b[A-Z][a-z]{3,}\b", have)
        )
        if new_names:
            extra.append(cand)
            have += " " + cand.text
    return extra
