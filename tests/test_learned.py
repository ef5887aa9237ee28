"""The learned offline engine (opt-in) on tiny hand-made passages: one feature row per candidate and part,
the scorer's sentence choice with the answer decision forced open, and the weights file's guard."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mali_qa.answer.condense import Condensed
from mali_qa.answer.features import QUESTION_FEATURES, SENTENCE_FEATURES
from mali_qa.answer.learned import LearnedEngine
from mali_qa.answer.scorer import Scorer, shipped_scorer
from mali_qa.answer.vocabulary import Vocabulary
from mali_qa.errors import ConfigError
from mali_qa.text import content_stems, split_sentences
from mali_qa.types import Passage
from passages import one_passage

ARTICLE = (
    "The last French soldiers crossed the border into Niger on Monday at 1 p.m., ending the deployment. "
    "France had about 2,400 troops in Mali in February. "
    "Russian trainers arrived in Timbuktu to train Malian forces. "
    "Yevgeny Prigozhin, who controlled the Wagner Group, was killed in August."
)


def _setup(always_answer: bool) -> tuple[LearnedEngine, list[Passage]]:
    passages = [
        one_passage(ARTICLE[b:e], f"a#{i:04d}", b, 1.0 / (i + 1))
        for i, (b, e) in enumerate(split_sentences(ARTICLE))
    ]
    df: dict[str, int] = {}
    for p in passages:
        for s in set(content_stems(p.text)):
            df[s] = df.get(s, 0) + 1
    scorer = replace(shipped_scorer(), threshold=0.0) if always_answer else None
    return LearnedEngine(Vocabulary(df, len(passages)), scorer), passages


def test_every_candidate_gets_one_row_of_every_feature_per_part() -> None:
    engine, passages = _setup(False)
    analysis = engine.analyse(Condensed(question="How many troops did France have in Mali?"), passages)
    assert len(analysis.rows) == len(analysis.parts) == 1
    assert len(analysis.rows[0]) == len(analysis.candidates) == 4
    assert all(len(row) == len(SENTENCE_FEATURES) for row in analysis.rows[0])
    decision = engine.decide(analysis, engine.scorer)
    assert len(decision.features) == len(QUESTION_FEATURES) and 0.0 <= decision.probability <= 1.0


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many troops did France have in Mali?", "2,400"),
        ("Why did Russian trainers go to Timbuktu?", "train"),
    ],
)
def test_the_scorer_quotes_the_sentence_holding_the_answer(question: str, expected: str) -> None:
    engine, passages = _setup(True)
    answer = engine.answer(Condensed(question=question), passages)
    assert answer.answered and expected in answer.text and answer.text.endswith("]")


def test_the_decision_probability_gives_the_three_kinds_of_reply() -> None:
    """p >= threshold: an answer (the short answer only from short_threshold); about_threshold <= p <
    threshold: the closest sentences, marked, cited, `answered` False; below: NO_ANSWER, nothing cited."""
    from mali_qa.types import CLOSEST_PASSAGES, NO_ANSWER

    engine, passages = _setup(False)
    analysis = engine.analyse(Condensed(question="How many troops did France have in Mali?"), passages)
    p = engine.decide(analysis, engine.scorer).probability
    sure = replace(engine.scorer, threshold=p, about_threshold=0.0, short_threshold=p)
    answer = engine.answer_from(analysis, sure)
    assert (answer.kind, answer.answered, answer.short) == ("answer", True, "2,400")
    no_short = engine.answer_from(analysis, replace(sure, short_threshold=min(1.0, p + 0.01) + 0.001))
    assert no_short.kind == "answer" and no_short.short == ""
    unsure = engine.answer_from(analysis, replace(sure, threshold=p + 0.001, about_threshold=p))
    assert (unsure.kind, unsure.answered, unsure.short) == ("passages", False, "")
    assert unsure.text.startswith(CLOSEST_PASSAGES) and "2,400" in unsure.text
    assert 1 <= len(unsure.citations) <= 3 and all(c.quote in ARTICLE for c in unsure.citations)
    assert unsure.to_dict()["kind"] == "passages"
    none = engine.answer_from(analysis, replace(sure, threshold=p + 0.002, about_threshold=p + 0.001))
    assert (none.kind, none.text, none.citations) == ("none", NO_ANSWER, [])


def test_a_later_part_pointing_back_is_read_with_the_first_parts_answer() -> None:
    engine, passages = _setup(False)
    analysis = engine.analyse(
        Condensed(question="Who controlled the Wagner Group, and when was he killed?"), passages
    )
    assert [p.text for p in analysis.parts] == [
        "Who controlled the Wagner Group",
        "when was Prigozhin killed",  # the surname: news names a person so after the first mention
    ]


def test_weights_fitted_on_other_features_are_refused() -> None:
    data = shipped_scorer().to_dict()
    data["sentence"]["features"] = data["sentence"]["features"][:-1]
    with pytest.raises(ConfigError, match="fit_scorer"):
        Scorer.from_dict(data)


def test_the_weights_file_round_trips() -> None:
    scorer = shipped_scorer()
    again = Scorer.from_dict(scorer.to_dict())
    assert again.threshold == scorer.threshold and again.sentence.names == SENTENCE_FEATURES


@pytest.mark.parametrize(
    ("question", "sentence", "short"),
    [
        (
            "How many troops did France have in Mali?",
            "France had about 2,400 troops in Mali in February.",
            "2,400",
        ),
        (
            "Who controlled the Wagner Group?",
            "Yevgeny Prigozhin, who controlled the Wagner Group, was killed.",
            "Yevgeny Prigozhin",
        ),
        (
            "On what date did they criticize it?",
            "On December 23, a group of Western countries criticized it.",
            "December 23",
        ),
        (
            "When did the soldiers leave?",
            "The soldiers crossed the border on Monday.",
            "Monday (the articles give no calendar date)",
        ),
        (
            "What was the operation called?",
            "France intervened in 2013 during Operation Serval.",
            "Operation Serval",
        ),
    ],
)
def test_the_short_answer_is_the_asked_thing_inside_the_quote(
    question: str, sentence: str, short: str
) -> None:
    from mali_qa.answer.question import parts
    from mali_qa.answer.short import short_answer

    found = short_answer(parts(question)[0], sentence, 100)
    assert found is not None and found.shown == short
    assert sentence[found.start - 100 : found.end - 100] == found.text


def test_no_short_answer_when_the_question_already_names_it() -> None:
    from mali_qa.answer.question import parts
    from mali_qa.answer.short import short_answer

    assert short_answer(parts("Where is Timbuktu?")[0], "Timbuktu lies in the north.", 0) is None


ANNOUNCED = (
    "In February, France had about 2,400 troops in Mali when it announced its withdrawal. "
    "The last French soldiers crossed the border into Niger on Monday. "
    "The deployment had become increasingly unpopular in recent years."
)


def _announced_row(question: str, sentence_start: str) -> list[float]:
    engine, _ = _setup(False)
    analysis = engine.analyse(Condensed(question=question), [one_passage(ANNOUNCED)])
    index = next(i for i, c in enumerate(analysis.candidates) if c.text.startswith(sentence_start))
    return analysis.rows[0][index]


def test_a_date_of_an_announcement_is_marked_when_the_event_is_asked() -> None:
    announced = SENTENCE_FEATURES.index("announced")
    assert _announced_row("When did France leave Mali?", "In February")[announced] == 1.0
    assert _announced_row("When did France leave Mali?", "The last French")[announced] == 0.0
    # asking about the announcement itself: its date is the answer
    assert _announced_row("When did France announce its withdrawal?", "In February")[announced] == 0.0
    assert _announced_row("When did Macron say France would leave?", "In February")[announced] == 0.0
    assert _announced_row("How many troops did France have?", "In February")[announced] == 0.0


def test_a_runner_up_without_a_time_is_not_quoted_for_a_when_question() -> None:
    engine, _ = _setup(False)
    filler = " ".join(["in the region of the Sahel and beyond"] * 7)  # the dated runner-up is too long to add
    text = (
        f"The last French soldiers crossed the border into Niger on Monday {filler}. "
        "In February, France announced it would withdraw its troops. "
        "The deployment had become increasingly unpopular with the French troops in Mali."
    )
    passages = [one_passage(text)]
    wide = replace(shipped_scorer(), threshold=0.0, runner_up_margin=100.0)  # every sentence is near-equal
    analysis = engine.analyse(Condensed(question="When did the French troops leave Mali?"), passages)
    chosen = engine.decide(analysis, wide).chosen
    assert chosen and all("unpopular" not in c.text for c in chosen)


def test_every_parts_best_sentence_comes_before_any_runner_up() -> None:
    """A first part's near-equal runner-up never crowds out a later part's best sentence."""
    engine, passages = _setup(False)
    wide = replace(shipped_scorer(), threshold=0.0, runner_up_margin=100.0)  # every sentence is near-equal
    question = "What happened to the French soldiers, and who controlled the Wagner Group?"
    analysis = engine.analyse(Condensed(question=question), passages)
    assert len(analysis.parts) == 2
    chosen = [c.text for c in engine.decide(analysis, wide).chosen]
    assert "French soldiers crossed" in chosen[0] and "Prigozhin" in chosen[1], chosen
