"""The learned offline engine (the default; MALI_QA_OFFLINE_ENGINE=rules picks the hand-set one). One
question's path, top to bottom: read the question, take every sentence of the passages as a candidate,
compute each candidate's interpretable features (`answer.features`, the rules engine's view among them),
let the fitted model (`answer.scorer`) rank them and decide whether the best ones answer at all, compose."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mali_qa.answer.anchor import FetchPassages, next_door
from mali_qa.answer.candidates import Candidate, candidates
from mali_qa.answer.compose import (
    CLOSEST_SENTENCES,
    HARD_WORD_LIMIT,
    LIST_WORD_BUDGET,
    RUNNER_UP_WORDS,
    abstain,
    closest,
    compose,
    same,
    with_short,
    words_of,
)
from mali_qa.answer.condense import Condensed
from mali_qa.answer.coverage import score_parts
from mali_qa.answer.extractive import RulesEngine
from mali_qa.answer.features import SENTENCE_FEATURES, feature_rows, unknown_term_share
from mali_qa.answer.gather import asks_a_count, differing_figures
from mali_qa.answer.kinds import STRICT_KINDS
from mali_qa.answer.overview import is_overview, overview
from mali_qa.answer.question import QuestionPart
from mali_qa.answer.reading import read, resolve_pointing
from mali_qa.answer.scorer import Scorer, shipped_scorer
from mali_qa.answer.vocabulary import Vocabulary
from mali_qa.names import items
from mali_qa.text import word_count
from mali_qa.types import DIFFERING_FIGURES, Answer, Passage


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
    """The sentences chosen, the features of the decision to answer, and its probability; the closest
    sentences (the chosen ones, then the main part's next best) for when the engine is unsure."""

    chosen: list[Candidate]
    features: list[float]
    probability: float = 0.0
    answer: bool = False
    closest: list[Candidate] = field(default_factory=list)
    #: other sentences giving a different count of the asked thing (`answer.gather`)
    figures: list[Candidate] = field(default_factory=list)


class LearnedEngine:
    """Replies in one of three kinds (`Answer.kind`), by the fitted decision's probability: cited verbatim
    sentences chosen by the fitted scorer when sure; the closest sentences, marked as such, when unsure; or
    NO_ANSWER when nothing retrieved is about the question. It holds the rules engine as a part: the rules'
    score of each sentence and the rules' answer are features."""

    name = "learned"

    def __init__(
        self, vocabulary: Vocabulary, scorer: Scorer | None = None, fetch: FetchPassages | None = None
    ) -> None:
        self.vocabulary = vocabulary
        self.rules = RulesEngine(vocabulary)
        self._scorer = scorer
        self.fetch = fetch  # the index's passages by id: where the sentence next door is looked for

    @property
    def scorer(self) -> Scorer:
        """The fitted model: the one given, else the weights shipped in the package (read on first use)."""
        return self._scorer or shipped_scorer()

    def answer(self, condensed: Condensed, passages: Sequence[Passage]) -> Answer:
        if not passages:
            return abstain(condensed, passages)
        return self.answer_from(self.analyse(condensed, passages), self.scorer)

    def answer_from(self, analysis: Analysis, scorer: Scorer) -> Answer:
        if is_overview(analysis.condensed.question) and (
            leads := overview(analysis.condensed, analysis.passages, self.vocabulary)
        ):
            return leads
        decision = self.decide(analysis, scorer)
        if decision.answer and decision.figures:  # each figure with its source, never one as the only one
            answer = compose(
                analysis.condensed, decision.chosen + decision.figures, analysis.passages, best_first=True
            )
            answer.text = f"{DIFFERING_FIGURES} {answer.text}"
            return answer
        if decision.answer:
            answer = compose(analysis.condensed, decision.chosen, analysis.passages, best_first=True)
            if len(analysis.parts) == 1 and decision.probability >= scorer.short_threshold:
                return with_short(answer, analysis.parts[0], decision.chosen[0])
            return answer
        if decision.closest and decision.probability >= scorer.about_threshold:
            return closest(analysis.condensed, decision.closest, analysis.passages)
        return abstain(analysis.condensed, analysis.passages)

    # -- question reading, candidates, features -------------------------------------------------------
    def analyse(self, condensed: Condensed, passages: Sequence[Passage]) -> Analysis:
        """Question reading, candidates, coverage and the rules' view, then the features."""
        reading = read(condensed, self.vocabulary)
        cands = candidates(passages)
        asked = [reading.pointing[0], *reading.parts]  # the first as split where a later part points back
        scores = score_parts(asked, cands, self.vocabulary, condensed.context_terms, reading.subjects)
        qparts = [p for p in reading.pointing if p.terms]
        if reading.points_back and cands:
            score = scores[reading.pointing[0].text].score
            best = cands[max(range(len(cands)), key=score.__getitem__)].text
            qparts = resolve_pointing(reading, best)
            scores = score_parts(
                qparts, cands, self.vocabulary, condensed.context_terms, reading.subjects, scores
            )
        unscored = [p for p in qparts if p.text not in scores]  # a later part whose first has no terms
        if unscored:
            scores = score_parts(
                unscored, cands, self.vocabulary, condensed.context_terms, reading.subjects, scores
            )
        chosen = self.rules.choose(reading, passages, cands, scores)
        rules = compose(condensed, chosen, passages) if chosen else abstain(condensed, passages)
        return Analysis(
            self,
            condensed,
            passages,
            cands,
            qparts,
            feature_rows(qparts, cands, scores, rules, passages),
            unknown_names=len(reading.unknown_names),
            missing_head=bool(reading.missing_head),
            unknown_term_share=unknown_term_share(qparts, scores),
            rules_answered=rules.answered,
        )

    # -- decision -------------------------------------------------------------------------------------
    def decide(self, analysis: Analysis, scorer: Scorer) -> Decision:
        """The best sentence of each part (and a near-equal runner-up, and for a list more items), then
        whether they answer at all."""
        chosen: list[Candidate] = []
        cands = analysis.candidates
        scored = [
            (part, scorer.sentence.logit(np.array(rows)), rows)
            for part, rows in zip(analysis.parts, analysis.rows, strict=True)
            if rows
        ]
        main_scores, main_rows = (scored[0][1].tolist(), scored[0][2]) if scored else ([], [])
        features = question_features(main_scores, main_rows, analysis)
        p_answer = float(scorer.answer.probability(np.array(features))[0])
        orders = [np.argsort(-score, kind="stable") for _part, score, _rows in scored]
        shared: list[bool] = []  # a part whose best sentence an earlier part's already is
        for (part, _score, _rows), order in zip(scored, orders, strict=True):
            # every part's best sentence first, so that no runner-up crowds out a later part's
            best = cands[int(order[0])]
            shared.append(same(best, chosen))
            if not shared[-1]:
                chosen.append(best)
            door = next_door(part, best, cands, self.fetch)  # what the best sentence lacks, said next door
            if door and _fits(door, chosen, HARD_WORD_LIMIT):
                chosen.append(door)
        for (part, score, rows), order, borrowed in zip(scored, orders, shared, strict=True):
            top = int(order[0])
            budget = HARD_WORD_LIMIT if borrowed else RUNNER_UP_WORDS
            for i in order[1:]:
                cand = cands[int(i)]
                if score[top] - score[i] > scorer.runner_up_margin:
                    break
                if part.kind in STRICT_KINDS and not rows[i][_NEW_ANSWER]:
                    continue  # a runner-up without a new thing of the asked kind (a "when" without a time)
                if _fits(cand, chosen, budget):
                    chosen.append(cand)  # two near-equal readings: quote both rather than guess
                    break
            if part.kind == "list":
                chosen.extend(_more_items(cands, score, order, chosen, scorer.runner_up_margin))
        near = _closest(chosen, cands, orders[0]) if scored else list(chosen)
        figures: list[Candidate] = []
        if scored and chosen and asks_a_count(scored[0][0]):
            figures = _figures(scored[0], orders[0], chosen, cands, scorer.runner_up_margin)
        answer = bool(chosen) and p_answer >= scorer.threshold
        return Decision(chosen, features, p_answer, answer, near, figures)


def _fits(cand: Candidate, chosen: list[Candidate], words: int) -> bool:
    """Whether a sentence not yet chosen can join the chosen ones within `words` words in all."""
    return not same(cand, chosen) and words_of(chosen) + word_count(cand.text) <= words


def _closest(chosen: list[Candidate], cands: Sequence[Candidate], order: np.ndarray) -> list[Candidate]:
    """The closest sentences for when the engine is unsure: the chosen ones, then the main part's next best
    (`order`: its candidates, best first), at most CLOSEST_SENTENCES."""
    near = list(chosen[:CLOSEST_SENTENCES])
    for i in order:
        if len(near) >= CLOSEST_SENTENCES:
            break
        if not same(cands[int(i)], near):
            near.append(cands[int(i)])
    return near


def _figures(
    main: tuple[QuestionPart, np.ndarray, list[list[float]]],
    order: np.ndarray,
    chosen: list[Candidate],
    cands: Sequence[Candidate],
    margin: float,
) -> list[Candidate]:
    """Other sentences giving another count of what the main part asks, among those that answer it about as
    well as the best: the ranker's score within `margin`, the question's terms as covered, no other people."""
    part, score, rows = main
    ranked = [int(i) for i in order]
    top = ranked[0]
    about_as_well = [
        score[top] - score[i] <= margin and row[_COVERAGE] >= rows[top][_COVERAGE] and row[_CONFLICT] == 0.0
        for i, row in enumerate(rows)
    ]
    return differing_figures(part, chosen, cands, ranked, about_as_well)


_COVERAGE = SENTENCE_FEATURES.index("coverage")
_CONFLICT = SENTENCE_FEATURES.index("subject_conflict")
_NEW_ANSWER = SENTENCE_FEATURES.index("new_answer")


def question_features(
    scores: Sequence[float], rows: Sequence[list[float]], analysis: Analysis
) -> list[float]:
    """The features of the decision to answer, in `features.QUESTION_FEATURES` order, from the ranker's scores
    of the main question part's candidates and their feature rows, and what the analysis read."""
    parts, passages = analysis.parts, analysis.passages
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
        1.0 if analysis.unknown_names else 0.0,
        1.0 if analysis.missing_head else 0.0,
        analysis.unknown_term_share,
        min(sum(len(p.terms) for p in parts), 10) / 10.0,
        1.0 if kinds & STRICT_KINDS else 0.0,
        1.0 if kinds <= {"generic"} else 0.0,
        1.0 if analysis.rules_answered else 0.0,
        1.0 if analysis.condensed.rewritten else 0.0,
    ]


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
        if same(cand, chosen + extra) or words_of(chosen + extra) + word_count(cand.text) > LIST_WORD_BUDGET:
            continue
        if items(cand.text) - items(have):
            extra.append(cand)
            have += " " + cand.text
    return extra
