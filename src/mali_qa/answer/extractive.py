"""The offline answer engine: a short answer made of verbatim sentences of the retrieved passages, each with
its [n] marker, chosen for the kind of answer the question asks for; it abstains when the evidence is weak."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from mali_qa.answer.candidates import Candidate, candidates
from mali_qa.answer.condense import Condensed
from mali_qa.answer.features import Coverage, PartTerms, cover
from mali_qa.answer.question import (
    ANSWER_CLASSES,
    STRICT_KINDS,
    QuestionPart,
    part_kind_score,
    parts,
    question_heads,
)
from mali_qa.answer.vocabulary import Vocabulary
from mali_qa.text import stem, word_count
from mali_qa.types import NO_ANSWER, Answer, Citation, Passage

#: Below this share of the question's weighted terms, a sentence is not evidence for it.
MIN_COVERAGE = 0.45
#: A sentence this close in meaning to the question (cosine) needs only LOW_COVERAGE of its terms.
CLOSE_SIMILARITY = 0.65
LOW_COVERAGE = 0.3
#: Weight of a sentence's embedding cosine to the question in its score (coverage weighs 1).
SIMILARITY_WEIGHT = 0.6
#: A second sentence scoring this share of the best one's is quoted too, within RUNNER_UP_WORDS words.
RUNNER_UP_SHARE = 0.9
RUNNER_UP_WORDS = 70
#: Two sentences that together hold this share of the question's weighted terms answer it (none alone does).
PAIR_COVERAGE = 0.6
PAIR_POOL = 8
#: A list may run longer, to name more of its items.
LIST_WORD_BUDGET = 90
#: Aim for answers under this many words; never more than HARD_WORD_LIMIT.
WORD_BUDGET = 75
HARD_WORD_LIMIT = 100


class ExtractiveEngine:
    """Answers from the retrieved passages with cited verbatim sentences, or abstains with NO_ANSWER."""

    name = "offline"

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    # -- evidence -------------------------------------------------------------------------------------
    def unknown_names(self, question: str) -> list[str]:
        """Names and numbers of the question that no article contains: then no article can answer it."""
        # "per VOA", "according to Reuters": who reported it, not what is asked; the outlet may go unnamed
        question = _ATTRIBUTION.sub(" ", question)
        tokens = re.findall(r"[A-Za-z0-9][\w’'\-]*", question)
        missing = []
        for i, token in enumerate(tokens):
            is_name = i > 0 and token[0].isupper() and token.lower() not in _COMMON_CAPS
            is_number = token.isdigit() and len(token) >= 2
            if (is_name or is_number) and self.vocabulary.frequency(stem(token)) == 0:
                missing.append(token)
        return missing

    def missing_head(self, question: str) -> str:
        """The class of thing the question asks for ("the name of the Russian *commander*", "how much
        *money*") when no article ever mentions it: then no article can answer."""
        for head in question_heads(question):
            if head.lower() not in GENERIC_CLASSES and self.vocabulary.frequency(stem(head)) == 0:
                return head
        return ""

    def candidates(self, passages: Sequence[Passage]) -> list[Candidate]:
        return candidates(passages)

    def _score(self, part: QuestionPart, cand: Candidate, covered: Coverage) -> float:
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

    # -- answer ---------------------------------------------------------------------------------------
    def answer(self, condensed: Condensed, passages: Sequence[Passage]) -> Answer:
        return self.rules_answer(condensed, passages, self.candidates(passages))

    def rules_answer(
        self,
        condensed: Condensed,
        passages: Sequence[Passage],
        cands: list[Candidate],
        scores: RuleScores | None = None,
    ) -> Answer:
        """The hand-set rules' answer from these candidate sentences (of these passages); `scores` shares
        the rules' scores with a caller that reads them too."""
        question = condensed.question
        score_of = scores or RuleScores(self, condensed.context_terms)
        if not passages or self.unknown_names(question) or self.missing_head(question):
            return abstain(condensed, passages)
        chosen: list[Candidate] = []
        qparts = parts(question)
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
            if not _same(best, chosen):
                chosen.append(best)
            runner_up = next((c for c in ranked[1:] if not _same(c, chosen)), None)
            if (
                runner_up is not None
                and runner_up.score >= RUNNER_UP_SHARE * best.score
                and _words(chosen) + word_count(runner_up.text) <= RUNNER_UP_WORDS
            ):
                chosen.append(runner_up)  # two near-equal readings: quote both rather than guess
            if part.kind == "list":
                chosen.extend(self._more_items(part, cands, chosen, score_of))
        if not chosen:
            chosen = self._pair(qparts, cands, score_of)
        if not chosen:
            return abstain(condensed, passages)
        chosen.extend(self._cover_missing(qparts, all_terms, cands, chosen, condensed.context_terms))
        return compose(condensed, chosen, passages)

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
            if _words(chosen + extra) + word_count(cand.text) > LIST_WORD_BUDGET:
                continue  # a shorter sentence further down may still fit
            close = coverage >= max(MIN_COVERAGE, 0.8 * best.coverage) or (
                coverage >= LOW_COVERAGE and cand.similarity >= best.similarity - 0.05
            )
            if not close or _same(cand, chosen + extra):
                continue
            new_names = set(re.findall(r"\b[A-Z][a-z]{3,}\b", cand.text)) - set(
                re.findall(r"\b[A-Z][a-z]{3,}\b", have)
            )
            if new_names and score >= 0.7 * best.score:
                extra.append(cand)
                have += " " + cand.text
        return extra

    def _cover_missing(
        self,
        qparts: list[QuestionPart],
        weights: dict[str, float],
        cands: list[Candidate],
        chosen: list[Candidate],
        soft: Sequence[str],
    ) -> list[Candidate]:
        """A further sentence when it holds telling question terms that the chosen ones lack."""
        total = sum(weights.values()) or 1.0
        have = frozenset().union(*(c.stems for c in chosen))
        missing = {t: w for t, w in weights.items() if not self.vocabulary.has(t, have)}
        if not missing or sum(missing.values()) / total < 0.2:
            return []
        best_extra: tuple[float, Candidate] | None = None
        for cand in cands:
            if _same(cand, chosen) or _words(chosen) + word_count(cand.text) > WORD_BUDGET:
                continue
            gain = sum(w for t, w in missing.items() if self.vocabulary.has(t, cand.stems)) / total
            if cand.similarity < chosen[0].similarity - 0.1:
                continue  # it shares a word with the question, not its meaning
            near = cand.passage.id in {c.passage.id for c in chosen}
            if gain >= 0.15 and (near or gain >= 0.25) and (best_extra is None or gain > best_extra[0]):
                best_extra = (gain, cand)
        return [best_extra[1]] if best_extra else []


class RuleScores:
    """The rules' score of each (question part, candidate sentence) of one question, and how the sentence
    covers the part's terms, computed once: the rules' answer and the learned engine's features both read
    them. `subjects` (the asked peoples and places) only set which terms are the focus, which the features
    read."""

    def __init__(
        self, engine: ExtractiveEngine, soft: Sequence[str], subjects: frozenset[str] = frozenset()
    ) -> None:
        self._engine, self._soft, self._subjects = engine, soft, subjects
        self._terms: dict[str, PartTerms] = {}
        self._known: dict[tuple[str, int], tuple[Coverage, float]] = {}

    def terms(self, part: QuestionPart) -> PartTerms:
        """The part's weighted terms (a part's text makes the rest of it)."""
        if part.text not in self._terms:
            self._terms[part.text] = PartTerms(part, self._engine.vocabulary, self._subjects)
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
            self._known[key] = (covered, self._engine._score(part, cand, covered))
        return self._known[key]


#: Classes whose members an answer names without naming the class ("which countries" -> "Niger").
GENERIC_CLASSES = ANSWER_CLASSES | frozenset("capital capitals event events date dates".split())

_COMMON_CAPS = frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "did",
        "does",
        "do",
        "the",
        "a",
        "an",
        "in",
        "on",
        "of",
        "and",
        "or",
        "according",
    ]
)


_ATTRIBUTION = re.compile(
    r"\b(?:per|according to|as reported by|reported by)\s+(?:the\s+)?(?:[A-Z][\w.\-]*\s*){1,3}(?=[,?.]|$)"
)


def _is_evidence(coverage: float, similarity: float, question_has_unknown_words: bool) -> bool:
    """Enough of the question's telling terms, or fewer of them in a sentence close in meaning when every
    word of the question occurs somewhere in the articles."""
    if coverage >= MIN_COVERAGE:
        return True
    return not question_has_unknown_words and coverage >= LOW_COVERAGE and similarity >= CLOSE_SIMILARITY


def _same(cand: Candidate, chosen: Sequence[Candidate]) -> bool:
    return any(c.passage.article_id == cand.passage.article_id and c.start == cand.start for c in chosen)


def _words(chosen: Sequence[Candidate]) -> int:
    return sum(word_count(c.text) for c in chosen)


def _trim(text: str, limit: int) -> str:
    """A verbatim prefix of `text` of at most `limit` words, cut after a clause where possible."""
    tokens = text.split()
    if len(tokens) <= limit:
        return text
    cut = " ".join(tokens[:limit])
    comma = cut.rfind(",")
    return (cut[:comma] if comma > len(cut) // 2 else cut) + " …"


def abstain(condensed: Condensed, passages: Sequence[Passage]) -> Answer:
    return Answer(
        text=NO_ANSWER, answered=False, citations=[], query=condensed.search_text, retrieved=list(passages)
    )


def compose(
    condensed: Condensed, chosen: list[Candidate], passages: Sequence[Passage], *, best_first: bool = False
) -> Answer:
    """Sentences in reading order per article (after the first chosen one, when `best_first`), each followed
    by its passage's [n]; numbers in order of use."""
    first_seen: dict[str, int] = {}
    for c in chosen:
        first_seen.setdefault(c.passage.article_id, len(first_seen))
    lead = chosen[:1] if best_first else []
    ordered = lead + sorted(chosen[len(lead) :], key=lambda c: (first_seen[c.passage.article_id], c.start))
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    pieces: list[str] = []
    budget = HARD_WORD_LIMIT
    for c in ordered:
        if budget <= 5:
            break
        if c.passage.id not in numbers:
            numbers[c.passage.id] = len(numbers) + 1
            citations.append(
                Citation(
                    source=c.passage.article_id,
                    title=c.passage.title,
                    text=c.passage.text,
                    score=c.passage.score,
                    quote=c.text,
                    start=c.passage.start,
                    end=c.passage.end,
                    quote_start=c.start,
                    quote_end=c.end,
                    date=c.passage.date,
                    outlet=c.passage.outlet,
                )
            )
        sentence = _trim(c.text, budget - 1)
        budget -= word_count(sentence)
        pieces.append(f"{sentence} [{numbers[c.passage.id]}]")
    return Answer(
        text=" ".join(pieces),
        answered=True,
        citations=citations,
        query=condensed.search_text,
        retrieved=list(passages),
    )
