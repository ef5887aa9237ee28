"""The pure post-processing of a model's reply: one small edge case per test."""

from __future__ import annotations

import pytest

from mali_qa.answer.citations import (
    MarkerStream,
    claims,
    is_no_answer,
    number_passages,
    process_reply,
    support,
)
from mali_qa.types import NO_ANSWER, Passage


def passage(n: int, text: str, title: str = "") -> Passage:
    return Passage(
        id=f"p{n}",
        article_id=f"a{n}",
        title=title or f"Headline {n}",
        text=text,
        start=100 * n,
        end=100 * n + len(text),
    )


WAGNER = passage(1, "Wagner mercenaries arrived in Mali in December 2021. They were paid by the junta.")
BARKHANE = passage(2, "France ended Operation Barkhane in November 2022 after nine years.")
GOLD = passage(3, "Russian companies sought gold mining licences near Bamako.")
PASSAGES = [WAGNER, BARKHANE, GOLD]


def test_number_maps_to_passage_in_order_given() -> None:
    out = process_reply("France ended Operation Barkhane in November 2022 [2].", PASSAGES)
    assert out.text == "France ended Operation Barkhane in November 2022 [1]."
    assert [c.source for c in out.citations] == ["a2"]
    assert out.citations[0].text == BARKHANE.text


def test_renumbered_by_first_appearance() -> None:
    out = process_reply("Barkhane ended in November 2022 [2]. Wagner arrived in December 2021 [1].", PASSAGES)
    assert out.text == "Barkhane ended in November 2022 [1]. Wagner arrived in December 2021 [2]."
    assert [c.source for c in out.citations] == ["a2", "a1"]


def test_repeated_number_keeps_its_new_number() -> None:
    out = process_reply("Gold licences were sought [3]. Near Bamako [3].", PASSAGES)
    assert out.text == "Gold licences were sought [1]. Near Bamako [1]."
    assert len(out.citations) == 1


def test_number_beyond_the_passages_is_dropped() -> None:
    out = process_reply("Wagner arrived in Mali in December 2021 [7].", PASSAGES)
    assert out.text == "Wagner arrived in Mali in December 2021."
    assert out.citations == [] and out.dropped == [7]


def test_zero_is_not_a_passage() -> None:
    out = process_reply("Wagner arrived in Mali [0][1].", PASSAGES)
    assert out.text == "Wagner arrived in Mali [1]."
    assert out.dropped == [0]


def test_invalid_number_does_not_take_a_new_number() -> None:
    out = process_reply("Barkhane ended in 2022 [9][2]. Wagner arrived in Mali in 2021 [1].", PASSAGES)
    assert out.text == "Barkhane ended in 2022 [1]. Wagner arrived in Mali in 2021 [2]."


def test_grouped_marker_is_split_and_renumbered() -> None:
    out = process_reply("Wagner came and Barkhane ended [2, 1].", PASSAGES)
    assert out.text == "Wagner came and Barkhane ended [1][2]."
    assert [c.source for c in out.citations] == ["a2", "a1"]


def test_grouped_marker_with_one_invalid_number_keeps_the_valid_one() -> None:
    out = process_reply("Barkhane ended in November 2022 [2; 12].", PASSAGES)
    assert out.text == "Barkhane ended in November 2022 [1]."


def test_reply_with_no_marker_has_no_citation() -> None:
    assert process_reply("Wagner arrived in Mali.", PASSAGES).citations == []


def test_no_passages_means_every_number_is_dropped() -> None:
    out = process_reply("Wagner arrived [1].", [])
    assert out.citations == [] and out.text == "Wagner arrived."


def test_exact_no_answer_abstains() -> None:
    out = process_reply(NO_ANSWER, PASSAGES)
    assert out.abstained and out.text == NO_ANSWER and out.citations == []


def test_no_answer_with_curly_apostrophe_quotes_and_marker_abstains() -> None:
    assert is_no_answer("“The articles don’t say.” [1]")


def test_no_answer_followed_by_an_answer_is_not_abstention() -> None:
    assert not is_no_answer("The articles don't say when, but Wagner arrived in 2021 [1].")


def test_empty_reply_is_not_abstention() -> None:
    assert not is_no_answer("   ")


def test_brackets_that_are_not_numbers_stay() -> None:
    out = process_reply("Barkhane [sic] ended in November 2022 [2].", PASSAGES)
    assert out.text == "Barkhane [sic] ended in November 2022 [1]."


def test_marker_after_the_full_stop_belongs_to_that_sentence() -> None:
    assert claims("Barkhane ended in 2022. [1] Wagner came. [2]") == [
        ("Barkhane ended in 2022.", [1]),
        ("Wagner came.", [2]),
    ]


def test_supported_claim_is_flagged_supported_with_its_quote() -> None:
    out = process_reply("Wagner mercenaries arrived in Mali in December 2021 [1].", PASSAGES)
    citation = out.citations[0]
    assert citation.supported and out.unsupported == []
    assert citation.quote == "Wagner mercenaries arrived in Mali in December 2021."
    assert (
        WAGNER.text[citation.quote_start - WAGNER.start : citation.quote_end - WAGNER.start] == citation.quote
    )


def test_claim_citing_the_wrong_passage_is_unsupported() -> None:
    out = process_reply("Russian companies sought gold mining licences near Bamako [2].", PASSAGES)
    assert out.unsupported == ["Russian companies sought gold mining licences near Bamako."]
    assert out.citations[0].supported is False


def test_one_unsupported_sentence_flags_only_its_citation() -> None:
    reply = "France ended Operation Barkhane in 2022 [2]. Chinese troops replaced them in Timbuktu [3]."
    out = process_reply(reply, PASSAGES)
    assert [c.supported for c in out.citations] == [True, False]
    assert out.unsupported == ["Chinese troops replaced them in Timbuktu."]


def test_claim_is_supported_when_any_of_its_passages_backs_it() -> None:
    out = process_reply("Wagner mercenaries arrived in Mali in December 2021 [2][1].", PASSAGES)
    assert out.unsupported == []


def test_uncited_sentence_unbacked_by_any_cited_passage_is_unsupported() -> None:
    out = process_reply(
        "Barkhane ended in November 2022 [2]. Algeria mediated a ceasefire agreement.", PASSAGES
    )
    assert out.unsupported == ["Algeria mediated a ceasefire agreement."]
    assert out.citations[0].supported is True


def test_sentence_without_content_words_needs_no_support() -> None:
    assert support("That is all.", GOLD).supported


def test_demonym_and_inflection_still_match() -> None:
    assert support("French forces ended Barkhane operations.", BARKHANE).supported


def test_headline_words_count_as_passage_words() -> None:
    p = passage(4, "It ended after nine years.", title="France ends Operation Barkhane")
    assert support("France ended Operation Barkhane.", p).supported


def test_embedding_cosine_rescues_a_paraphrase_sharing_some_words() -> None:
    claim = "The junta paid the fighters monthly salaries."

    def embed(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] if "paid" in t else [0.0, 1.0] for t in texts]

    assert not support(claim, WAGNER).supported
    assert support(claim, WAGNER, embed=embed).supported


def test_embedding_cosine_alone_does_not_support_a_claim_sharing_no_words() -> None:
    def embed(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    assert not support("Chinese engineers built a dam in Timbuktu.", WAGNER, embed=embed).supported


def test_failing_embedder_falls_back_to_the_lexical_check() -> None:
    def embed(texts: list[str]) -> list[list[float]]:
        raise RuntimeError("embedding server down")

    result = support("Wagner mercenaries arrived in Mali.", WAGNER, embed=embed)
    assert result.supported and result.cosine is None


def test_embedder_picks_the_quote_sentence() -> None:
    def embed(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] if ("junta" in t or t.startswith("Wagner's")) else [0.0, 1.0] for t in texts]

    assert (
        support("Wagner's fighters: the junta paid them.", WAGNER, embed=embed).quote
        == "They were paid by the junta."
    )


def test_passages_are_numbered_with_headline_and_date() -> None:
    dated = Passage(
        id="x", article_id="a9", title="Wagner in Mali", text="Text.", start=0, end=5, date="2022-01-02"
    )
    assert number_passages([dated, GOLD]).splitlines()[0] == "[1] Wagner in Mali (2022-01-02)"
    assert "[2] Headline 3" in number_passages([dated, GOLD])


# -- streaming: the pieces join to the final text --------------------------------------------------------


def stream_all(chunks: list[str], n: int = 3) -> str:
    stream = MarkerStream(n)
    return "".join(stream.feed(c) for c in chunks) + stream.flush()


@pytest.mark.parametrize(
    "chunks",
    [
        ["Barkhane ended [2", "]. Wagner came [1]."],
        ["Barkhane ended ", "[", "2", "]", " and ", "more [9]", "."],
        ["  Wagner [2, ", "1] arrived. "],
        ["Gold [3][3", "] near Bamako [1]"],
        ["Nothing cited here."],
        ["Trailing invalid ", "[8]"],
    ],
)
def test_streamed_pieces_join_to_the_processed_text(chunks: list[str]) -> None:
    assert stream_all(chunks) == process_reply("".join(chunks), PASSAGES).text


def test_stream_holds_back_an_open_marker_only() -> None:
    stream = MarkerStream(3)
    assert stream.feed("Barkhane ended [2") == "Barkhane ended"
    assert stream.feed("] in 2022") == " [1] in 2022"


def test_a_claim_that_negates_its_passage_is_unsupported() -> None:
    """Issue 27, finding 5(a): "France never announced any withdrawal" shares every content word with the
    passage that says France announced it, and must not be marked supported."""
    announced = passage(5, "France announced its withdrawal from Mali in February.")
    assert support("France announced its withdrawal from Mali.", announced).supported
    assert not support("France never announced any withdrawal from Mali.", announced).supported
    assert not support("France did not announce its withdrawal from Mali.", announced).supported


def test_a_negation_the_passage_shares_is_supported() -> None:
    denied = passage(6, "Moscow has not sent soldiers to Mali, the minister said.")
    assert support("Moscow has not sent soldiers to Mali.", denied).supported
    assert support("Moscow hasn’t sent soldiers to Mali.", denied).supported
    assert not support("Moscow has sent soldiers to Mali.", denied).supported
