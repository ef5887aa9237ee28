"""The sentence next door (`answer.anchor`): the day a quote's "today" stands for, found in the sentence of the
same article that reports the same statement with a day, in a retrieved passage or a neighbouring one fetched
from the index; and the asked kind the best sentence lacks, found in the sentence right after it."""

from __future__ import annotations

from dataclasses import replace

from mali_qa.answer.anchor import around, day_of, next_door, relative_only
from mali_qa.answer.candidates import candidates, neighbour_id, previous_passage_id
from mali_qa.answer.condense import Condensed
from mali_qa.answer.learned import LearnedEngine
from mali_qa.answer.question import parts
from mali_qa.answer.scorer import shipped_scorer
from mali_qa.answer.vocabulary import Vocabulary
from mali_qa.text import content_stems
from mali_qa.types import Passage, passage_id
from passages import one_passage

DAY = "In a statement, the French military said on Monday it had withdrawn its troops in an orderly manner."
OTHER_DAY = "On Tuesday, the Malian government said it welcomed Russian trainers."
QUOTE = (
    "“Today at 1 p.m. the last contingent of French forces crossed the border into Niger,” "
    "the French military statement said."
)


WHEN = parts("When did the last French forces cross into Niger?")[0]


def _article() -> list[Passage]:
    """Three passages of one article: the day of the statement, an unrelated dated one, the quote."""
    texts = [DAY, OTHER_DAY, QUOTE]
    starts = [0, len(DAY) + 2, len(DAY) + len(OTHER_DAY) + 4]
    return [one_passage(t, f"m#{i:04d}", s) for i, (t, s) in enumerate(zip(texts, starts, strict=True))]


def test_only_a_reported_relative_time_needs_its_day() -> None:
    assert relative_only(QUOTE)
    assert not relative_only("The last troops crossed the border on Monday, the military said today.")
    assert not relative_only("Today the country faces a jihadist insurgency.")  # no statement reported
    assert not relative_only(DAY)


def test_the_day_is_the_same_statements_not_the_nearest_dated_sentence() -> None:
    cands = candidates(_article())
    quote = next(c for c in cands if c.text == QUOTE)
    found = day_of(quote, cands)
    assert found is not None and found.text == DAY


def test_the_day_is_fetched_from_a_passage_nearby_when_none_retrieved_gives_it() -> None:
    article = _article()
    retrieved = candidates([article[2]])
    asked: list[list[str]] = []

    def fetch(ids: list[str]) -> list[Passage]:
        asked.append(ids)
        return [p for p in article if p.id in ids]

    assert next_door(WHEN, retrieved[0], retrieved, None) is None
    found = next_door(WHEN, retrieved[0], retrieved, fetch)
    assert (
        found is not None and found.text == DAY and asked == [["m#0001", "m#0003", "m#0000"]]
    )  # one after, those before


def test_neighbours_are_nearest_first_within_the_article() -> None:
    assert around("m#0004") == ["m#0003", "m#0005", "m#0002", "m#0001"]
    assert around("m#0000") == ["m#0001"]
    assert around("no-number") == []


def test_a_when_question_answered_by_the_quote_also_quotes_the_day() -> None:
    article = _article()
    df: dict[str, int] = {}
    for p in article:
        for s in set(content_stems(p.text)):
            df[s] = df.get(s, 0) + 1
    scorer = replace(shipped_scorer(), threshold=0.0)

    def fetch(ids: list[str]) -> list[Passage]:
        return [p for p in article if p.id in ids]

    question = Condensed(question="When did the last French forces cross into Niger?")
    alone = LearnedEngine(Vocabulary(df, 3), scorer).answer(question, [article[2]])
    assert alone.answered and "Monday" not in alone.text
    answer = LearnedEngine(Vocabulary(df, 3), scorer, fetch=fetch).answer(question, [article[2]])
    assert answer.answered and answer.text.startswith("“Today at 1 p.m.") and "on Monday" in answer.text
    assert [c.source for c in answer.citations] == ["m", "m"] and answer.citations[1].quote == DAY


LEAD = "France says its last soldiers have left Mali, ending a nine-year deployment."
NEXT = "The French military said on Monday it had withdrawn its troops in an orderly manner."


def test_a_best_sentence_lacking_the_asked_kind_gets_the_next_one_holding_it() -> None:
    cands = candidates([one_passage(LEAD, "n#0000"), one_passage(NEXT, "n#0001", len(LEAD) + 1)])
    lead = cands[0]
    found = next_door(WHEN, lead, cands, None)
    assert found is not None and found.text == NEXT
    # a question of another kind, or a best sentence holding the kind already, gets nothing next door
    assert next_door(parts("Why did France leave Mali?")[0], lead, cands, None) is None
    assert next_door(WHEN, cands[1], cands, None) is None
    # a neighbour without the asked kind is no help
    cands = candidates(
        [
            one_passage(LEAD, "n#0000"),
            one_passage(OTHER_DAY.replace("On Tuesday, t", "T"), "n#0001", len(LEAD) + 1),
        ]
    )
    assert next_door(WHEN, cands[0], cands, None) is None


def test_neighbouring_passage_ids_are_the_ids_the_chunker_makes() -> None:
    """One spelling of a passage id (`types.passage_id`): the chunker makes it, and stepping from one of its
    passages to the next (`candidates.neighbour_id`) lands on the id of the passage it made next."""
    from llama_index.core import Document

    from mali_qa.ingest.chunk import PassageParser

    paragraphs = [
        f"Paragraph {i} says the French troops left base {i} on a Monday in the north." for i in range(6)
    ]
    article = Document(text="\n\n".join(p * 4 for p in paragraphs), id_="001_ce45e1c8aef7f2ba")
    ids = [node.id_ for node in PassageParser(max_words=40, min_words=10).get_nodes_from_documents([article])]
    assert len(ids) > 2
    assert ids == [passage_id("001_ce45e1c8aef7f2ba", i) for i in range(len(ids))]
    assert ids[1] == "001_ce45e1c8aef7f2ba#0001"
    assert [neighbour_id(pid, 1) for pid in ids[:-1]] == ids[1:]
    assert [previous_passage_id(pid) for pid in ids[1:]] == ids[:-1]
    assert neighbour_id(ids[0], -1) == ""  # nothing before the first passage
    assert neighbour_id("no-number", 1) == ""
