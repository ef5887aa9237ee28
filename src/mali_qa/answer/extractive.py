"""The rules engine (MALI_QA_OFFLINE_ENGINE=rules), which the learned engine also holds as a part: from the
rules' score of each sentence (`answer.coverage`), the best sentence of each part is quoted, with a near-equal
runner-up, more items for a list, a pair that together answers, or a sentence holding the terms still
missing; it abstains when the evidence is weak."""

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
from mali_qa.answer.coverage import Scores, Term, score_parts
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
        scores = score_parts(reading.parts, cands, self.vocabulary, condensed.context_terms, reading.subjects)
        chosen = self.choose(reading, passages, cands, scores)
        return compose(condensed, chosen, passages) if chosen else abstain(condensed, passages)

    def choose(
        self, reading: Reading, passages: Sequence[Passage], cands: list[Candidate], scores: Scores
    ) -> list[Candidate]:
        """The sentences the rules quote from these candidates (of these passages, scored by `scores`, which
        hold every part of `reading.parts`), [] to abstain."""
        if not passages or reading.unanswerable:
            return []
        chosen: list[Candidate] = []
        qparts = reading.parts
        terms = _terms(qparts, scores)
        all_terms: dict[str, float] = {}
        for part in qparts:
            if not part.terms:
                continue
            scored = scores[part.text]
            unknown = any(not t.known for t in scored.terms.terms)
            for t in scored.terms.terms:
                all_terms[t.stem] = t.idf
            ranked: list[Candidate] = []
            for cand, score, covered in zip(cands, scored.score, scored.coverage, strict=True):
                if score > 0 and _is_evidence(covered.share, cand.similarity, unknown):
                    ranked.append(replace(cand, score=score, coverage=covered.share))
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
                chosen.extend(_more_items(cands, chosen, scored.score, [c.share for c in scored.coverage]))
        if not chosen:
            chosen = _pair(qparts, cands, scores, terms)
        if chosen:
            chosen.extend(_cover_missing(all_terms, terms, cands, chosen))
        return chosen


def _terms(qparts: Sequence[QuestionPart], scores: Scores) -> dict[str, Term]:
    """Every term of the question's parts, as scored."""
    return {t.stem: t for p in qparts if p.terms for t in scores[p.text].terms.terms}


def _pair(
    qparts: list[QuestionPart], cands: list[Candidate], scores: Scores, terms: dict[str, Term]
) -> list[Candidate]:
    """Two sentences, of different passages, that together hold what no single one does ("Which year saw both
    the creation of MINUSMA and the start of Serval?")."""
    weights = {t: term.idf for t, term in terms.items()}
    total = sum(weights.values())
    if not total or any(not term.known for term in terms.values()):
        return []
    first = scores[qparts[0].text]
    pool = sorted(zip(first.score, cands, strict=True), key=lambda x: -x[0])[:PAIR_POOL]
    best: tuple[float, list[Candidate]] | None = None
    for i, (score_a, a) in enumerate(pool):
        for score_b, b in pool[i + 1 :]:
            if a.passage.id == b.passage.id or score_a <= 0 or score_b <= 0:
                continue
            if word_count(a.text) + word_count(b.text) > WORD_BUDGET:
                continue
            both = a.stems | b.stems
            joint = sum(w for t, w in weights.items() if not terms[t].forms.isdisjoint(both)) / total
            alone = max(
                sum(w for t, w in weights.items() if not terms[t].forms.isdisjoint(c.stems)) / total
                for c in (a, b)
            )
            if joint >= PAIR_COVERAGE and joint - alone >= 0.2 and (best is None or joint > best[0]):
                best = (joint, [a, b])
    return best[1] if best else []


def _more_items(
    cands: list[Candidate], chosen: list[Candidate], scores: list[float], shares: list[float]
) -> list[Candidate]:
    """For a list question: other sentences, preferably from other articles, naming items not yet given."""
    have = " ".join(c.text for c in chosen)
    best = max(chosen, key=lambda c: c.score)
    extra: list[Candidate] = []
    for score, coverage, cand in sorted(zip(scores, shares, cands, strict=True), key=lambda x: -x[0]):
        if len(extra) >= 2:
            break
        if words_of(chosen + extra) + word_count(cand.text) > LIST_WORD_BUDGET:
            continue  # a shorter sentence further down may still fit
        close = coverage >= max(MIN_COVERAGE, 0.8 * best.coverage) or (
            coverage >= LOW_COVERAGE and cand.similarity >= best.similarity - 0.05
        )
        if not close or same(cand, chosen + extra):
            continue
        if items(cand.text) - items(have) and score >= 0.7 * best.score:
            extra.append(cand)
            have += " " + cand.text
    return extra


def _cover_missing(
    weights: dict[str, float], terms: dict[str, Term], cands: list[Candidate], chosen: list[Candidate]
) -> list[Candidate]:
    """A further sentence when it holds telling question terms that the chosen ones lack."""
    total = sum(weights.values()) or 1.0
    have = frozenset().union(*(c.stems for c in chosen))
    missing = {t: w for t, w in weights.items() if terms[t].forms.isdisjoint(have)}
    if not missing or sum(missing.values()) / total < 0.2:
        return []
    best_extra: tuple[float, Candidate] | None = None
    for cand in cands:
        if same(cand, chosen) or words_of(chosen) + word_count(cand.text) > WORD_BUDGET:
            continue
        gain = sum(w for t, w in missing.items() if not terms[t].forms.isdisjoint(cand.stems)) / total
        if cand.similarity < chosen[0].similarity - 0.1:
            continue  # it shares a word with the question, not its meaning
        near = cand.passage.id in {c.passage.id for c in chosen}
        if gain >= 0.15 and (near or gain >= 0.25) and (best_extra is None or gain > best_extra[0]):
            best_extra = (gain, cand)
    return [best_extra[1]] if best_extra else []


def _is_evidence(coverage: float, similarity: float, question_has_unknown_words: bool) -> bool:
    """Enough of the question's telling terms, or fewer of them in a sentence close in meaning when every
    word of the question occurs somewhere in the articles."""
    if coverage >= MIN_COVERAGE:
        return True
    return not question_has_unknown_words and coverage >= LOW_COVERAGE and similarity >= CLOSE_SIMILARITY
