"""The rules engine (MALI_QA_OFFLINE_ENGINE=rules), and the rules' score that the learned engine reads as a
feature: a sentence scores by the share of the question's weighted terms it holds, its kind of answer and its
closeness in meaning; the best sentence of each part is quoted, with a near-equal runner-up, more items for a
list, or a pair that together answers; it abstains when the evidence is weak."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from mali_qa.answer.candidates import Candidate, candidates
from mali_qa.answer.compose import (
    LIST_WORD_BUDGET,
    RUNNER_UP_WORDS,
    WORD_BUDGET,
    abstain,
    compose,
    same,
    words_of,
)
from mali_qa.answer.condense import Condensed
from mali_qa.answer.features import Coverage, PartTerms, cover
from mali_qa.answer.kinds import STRICT_KINDS, part_kind_score
from mali_qa.answer.question import QuestionPart
from mali_qa.answer.reading import Reading, read
from mali_qa.answer.vocabulary import Vocabulary
from mali_qa.names import items
from mali_qa.text import word_count
from mali_qa.types import Answer, Passage

#: Below this share of the question's weighted terms, a sentence is not evidence for it.
MIN_COVERAGE = 0.45
#: A sentence this close in meaning to the question (cosine) needs only LOW_COVERAGE of its terms.
CLOSE_SIMILARITY = 0.65
LOW_COVERAGE = 0.3
#: Weight of a sentence's embedding cosine to the question in its score (coverage weighs 1).
SIMILARITY_WEIGHT = 0.6
#: A second sentence scoring this share of the best one's is quoted too, within RUNNER_UP_WORDS words.
RUNNER_UP_SHARE = 0.9
#: Two sentences that together hold this share of the question's weighted terms answer it (none alone does).
PAIR_COVERAGE = 0.6
PAIR_POOL = 8


class RulesEngine:
    """Answers from the retrieved passages with cited verbatim sentences chosen by hand-set rules, or abstains
    with NO_ANSWER."""

    name = "rules"

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    def answer(self, condensed: Condensed, passages: Sequence[Passage]) -> Answer:
        reading = read(condensed, self.vocabulary)
        cands = candidates(passages)
        scores = RuleScores(self.vocabulary, condensed.context_terms, reading.subjects)
        chosen = self.choose(reading, passages, cands, scores)
        return compose(condensed, chosen, passages) if chosen else abstain(condensed, passages)

    def choose(
        self, reading: Reading, passages: Sequence[Passage], cands: list[Candidate], score_of: RuleScores
    ) -> list[Candidate]:
        """The sentences the rules quote from these candidates (of these passages), [] to abstain;
        `score_of` shares the rules' scores with a caller that reads them too."""
        if not passages or reading.unanswerable:
            return []
        chosen: list[Candidate] = []
        qparts = reading.parts
        all_terms: dict[str, float] = {}
        for part in qparts:
            if not part.terms:
                continue
            unknown = [t for t in part.terms if self.vocabulary.frequency(t) == 0]
            for t in part.terms:
                all_terms[t] = self.vocabulary.weight(t)
            ranked: list[Candidate] = []
            for cand in cands:
                score, coverage = score_of(part, cand)
                if score > 0 and _is_evidence(coverage, cand.similarity, bool(unknown)):
                    ranked.append(replace(cand, score=score, coverage=coverage))
            if not ranked:
                continue  # a part the articles don't answer; the others may still be answered
            ranked.sort(key=lambda c: -c.score)
            best = ranked[0]
            if not same(best, chosen):
                chosen.append(best)
            runner_up = next((c for c in ranked[1:] if not same(c, chosen)), None)
            if (
                runner_up is not None
                and runner_up.score >= RUNNER_UP_SHARE * best.score
                and words_of(chosen) + word_count(runner_up.text) <= RUNNER_UP_WORDS
            ):
                chosen.append(runner_up)  # two near-equal readings: quote both rather than guess
            if part.kind == "list":
                chosen.extend(self._more_items(part, cands, chosen, score_of))
        if not chosen:
            chosen = self._pair(qparts, cands, score_of)
        if chosen:
            chosen.extend(self._cover_missing(all_terms, cands, chosen))
        return chosen

    def _pair(
        self, qparts: list[QuestionPart], cands: list[Candidate], score_of: RuleScores
    ) -> list[Candidate]:
        """Two sentences, of different passages, that together hold what no single one does ("Which year
        saw both the creation of MINUSMA and the start of Serval?")."""
        part = qparts[0]
        weights = {t: self.vocabulary.weight(t) for p in qparts for t in p.terms}
        total = sum(weights.values())
        if not total or any(self.vocabulary.frequency(t) == 0 for t in weights):
            return []
        scored = sorted(((score_of(part, c), c) for c in cands), key=lambda x: -x[0][0])[:PAIR_POOL]
        best: tuple[float, list[Candidate]] | None = None
        for i, ((score_a, _), a) in enumerate(scored):
            for (score_b, _), b in scored[i + 1 :]:
                if a.passage.id == b.passage.id or score_a <= 0 or score_b <= 0:
                    continue
                if word_count(a.text) + word_count(b.text) > WORD_BUDGET:
                    continue
                both = a.stems | b.stems
                joint = sum(w for t, w in weights.items() if self.vocabulary.has(t, both)) / total
                alone = max(
                    sum(w for t, w in weights.items() if self.vocabulary.has(t, c.stems)) / total
                    for c in (a, b)
                )
                if joint >= PAIR_COVERAGE and joint - alone >= 0.2 and (best is None or joint > best[0]):
                    best = (joint, [a, b])
        return best[1] if best else []

    def _more_items(
        self, part: QuestionPart, cands: list[Candidate], chosen: list[Candidate], score_of: RuleScores
    ) -> list[Candidate]:
        """For a list question: other sentences, preferably from other articles, naming items not yet given."""
        have = " ".join(c.text for c in chosen)
        best = max(chosen, key=lambda c: c.score)
        extra: list[Candidate] = []
        scored = sorted(((score_of(part, c), c) for c in cands), key=lambda x: -x[0][0])
        for (score, coverage), cand in scored:
            if len(extra) >= 2:
                break
            if words_of(chosen + extra) + word_count(cand.text) > LIST_WORD_BUDGET:
                continue  # a shorter sentence further down may still fit
            close = coverage >= max(MIN_COVERAGE, 0.8 * best.coverage) or (
                coverage >= LOW_COVERAGE and cand.similarity >= best.similarity - 0.05
            )
            if not close or same(cand, chosen + extra):
                continue
            new_names = items(cand.text) - items(have)
            if new_names and score >= 0.7 * best.score:
                extra.append(cand)
                have += " " + cand.text
        return extra

    def _cover_missing(
        self, weights: dict[str, float], cands: list[Candidate], chosen: list[Candidate]
    ) -> list[Candidate]:
        """A further sentence when it holds telling question terms that the chosen ones lack."""
        total = sum(weights.values()) or 1.0
        have = frozenset().union(*(c.stems for c in chosen))
        missing = {t: w for t, w in weights.items() if not self.vocabulary.has(t, have)}
        if not missing or sum(missing.values()) / total < 0.2:
            return []
        best_extra: tuple[float, Candidate] | None = None
        for cand in cands:
            if same(cand, chosen) or words_of(chosen) + word_count(cand.text) > WORD_BUDGET:
                continue
            gain = sum(w for t, w in missing.items() if self.vocabulary.has(t, cand.stems)) / total
            if cand.similarity < chosen[0].similarity - 0.1:
                continue  # it shares a word with the question, not its meaning
            near = cand.passage.id in {c.passage.id for c in chosen}
            if gain >= 0.15 and (near or gain >= 0.25) and (best_extra is None or gain > best_extra[0]):
                best_extra = (gain, cand)
        return [best_extra[1]] if best_extra else []


def rule_score(part: QuestionPart, cand: Candidate, covered: Coverage) -> float:
    """The hand-set score of a sentence for a question part, from how it covers the part's terms."""
    kind = part_kind_score(part, cand.text)
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


class RuleScores:
    """The rules' score of each (question part, candidate sentence) of one question, and how the sentence
    covers the part's terms, computed once: the rules' choice and the learned engine's features both read
    them. `subjects` (the asked peoples and places) only set which terms are the focus, which the features
    read."""

    def __init__(
        self, vocabulary: Vocabulary, soft: Sequence[str], subjects: frozenset[str] = frozenset()
    ) -> None:
        self.vocabulary, self._soft, self._subjects = vocabulary, soft, subjects
        self._terms: dict[str, PartTerms] = {}
        self._known: dict[tuple[str, int], tuple[Coverage, float]] = {}

    def terms(self, part: QuestionPart) -> PartTerms:
        """The part's weighted terms (a part's text makes the rest of it)."""
        if part.text not in self._terms:
            self._terms[part.text] = PartTerms(part, self.vocabulary, self._subjects)
        return self._terms[part.text]

    def coverage(self, part: QuestionPart, cand: Candidate) -> Coverage:
        return self._scored(part, cand)[0]

    def __call__(self, part: QuestionPart, cand: Candidate) -> tuple[float, float]:
        """The sentence's score and its share of the part's weighted terms."""
        covered, score = self._scored(part, cand)
        return score, covered.share

    def _scored(self, part: QuestionPart, cand: Candidate) -> tuple[Coverage, float]:
        key = (part.text, id(cand))
        if key not in self._known:
            covered = cover(self.terms(part), cand, self._soft)
            self._known[key] = (covered, rule_score(part, cand, covered))
        return self._known[key]


def _is_evidence(coverage: float, similarity: float, question_has_unknown_words: bool) -> bool:
    """Enough of the question's telling terms, or fewer of them in a sentence close in meaning when every
    word of the question occurs somewhere in the articles."""
    if coverage >= MIN_COVERAGE:
        return True
    return not question_has_unknown_words and coverage >= LOW_COVERAGE and similarity >= CLOSE_SIMILARITY
