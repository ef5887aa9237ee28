"""`mali-qa eval`: scoring and aggregation on hand-made answers, then the CLI on a real index."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mali_qa.eval.gold import GoldItem, load_gold
from mali_qa.eval.judge import judge_item, summarize_judged
from mali_qa.eval.scoring import aggregate, aggregate_by_type, gate, percentile, score_item
from mali_qa.types import NO_ANSWER, Answer, Citation, Passage

EVIDENCE = "59 French soldiers were killed in Mali"


def item(kind: str = "numeric", **changes: Any) -> GoldItem:
    fields: dict[str, Any] = {
        "id": "q1",
        "question": "How many French soldiers died in Mali?",
        "answer": "59.",
        "must_include": [["59", "fifty-nine"]],
        "sources": ["a"],
        "evidence": [EVIDENCE],
        "type": kind,
    }
    if kind == "unanswerable":
        fields.update(must_include=[], sources=[], evidence=[], answer=NO_ANSWER)
    fields.update(changes)
    return GoldItem(**fields)


def passage(article_id: str, text: str) -> Passage:
    return Passage(id=f"{article_id}-0", article_id=article_id, title="t", text=text, start=0, end=len(text))


def cite(source: str, text: str) -> Citation:
    return Citation(source=source, title="t", text=text, score=1.0)


def answer(
    text: str, *, answered: bool = True, cites: list[Citation] | None = None, ranked: Sequence[str] = ()
) -> Answer:
    retrieved = [passage(f"p{i}", t) for i, t in enumerate(ranked)]
    return Answer(text=text, answered=answered, citations=cites or [], retrieved=retrieved)


GOOD_PASSAGE = f"He added that {EVIDENCE} during the nine years."


def test_a_correct_answer_with_its_evidence_cited_and_retrieved_first() -> None:
    r = score_item(
        item(), answer("59 soldiers [1].", cites=[cite("a", GOOD_PASSAGE)], ranked=[GOOD_PASSAGE]), 12.0
    )
    assert r["correct"] and r["citation_hit"] and r["citations_on_source"] == 1
    assert r["retrieval_rank"] == 1 and r["reason"] == ""


def test_must_include_is_case_insensitive_and_quote_normalized() -> None:
    gold = item(must_include=[["macron's"]])
    assert score_item(gold, answer("MACRON’S words"), 1.0)["correct"]


def test_a_missing_group_names_what_is_missing() -> None:
    r = score_item(item(must_include=[["59"], ["nine"]]), answer("59 died [1]."), 1.0)
    assert not r["correct"] and r["reason"] == "misses nine"


def test_an_answer_over_100_words_fails_but_markers_do_not_count() -> None:
    long = "59 " + "word " * 100
    assert not score_item(item(), answer(long), 1.0)["correct"]
    marked = "59 " + "word [1] " * 99
    assert score_item(item(), answer(marked), 1.0)["correct"]


def test_an_abstention_fails_an_answerable_item_and_passes_an_unanswerable_one() -> None:
    assert score_item(item(), answer(NO_ANSWER, answered=False), 1.0)["reason"] == "abstained"
    assert score_item(item("unanswerable"), answer(NO_ANSWER, answered=False), 1.0)["correct"]
    r = score_item(item("unanswerable"), answer("Ten [1]."), 1.0)
    assert not r["correct"] and r["reason"] == "answered an unanswerable question"


def test_retrieval_rank_is_the_first_passage_holding_evidence_with_whitespace_normalized() -> None:
    spaced = GOOD_PASSAGE.replace(" killed ", "\n  killed ")
    r = score_item(item(), answer("59", ranked=["nothing here", "nor here", spaced]), 1.0)
    assert r["retrieval_rank"] == 3
    assert score_item(item(), answer("59", ranked=["nothing"]), 1.0)["retrieval_rank"] == 0


def test_a_citation_of_the_wrong_passage_is_no_hit() -> None:
    r = score_item(item(), answer("59 [1]", cites=[cite("b", "Unrelated text.")]), 1.0)
    assert r["correct"] and not r["citation_hit"] and r["citations_on_source"] == 0


def test_aggregate_figures() -> None:
    results = [
        score_item(item(), answer("59 [1]", cites=[cite("a", GOOD_PASSAGE)], ranked=[GOOD_PASSAGE]), 10.0),
        score_item(
            item(id="q2"), answer("many [1]", cites=[cite("b", "x")], ranked=["x", GOOD_PASSAGE]), 20.0
        ),
        score_item(item(id="q3"), answer(NO_ANSWER, answered=False, ranked=["x"]), 30.0),
        score_item(item("unanswerable", id="q4"), answer(NO_ANSWER, answered=False), 40.0),
        score_item(item("unanswerable", id="q5"), answer("Ten [1]", cites=[cite("c", "y")]), 50.0),
    ]
    f = aggregate(results)
    assert (f["items"], f["answerable"], f["unanswerable"]) == (5, 3, 2)
    assert f["answer_accuracy"] == pytest.approx(1 / 3, abs=1e-4)
    assert f["precision"] == pytest.approx(1 / 3, abs=1e-4)  # 1 correct of 3 answered (q1, q2, q5)
    assert f["abstention_accuracy"] == 0.5
    assert f["citation_hit_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert f["citation_source_precision"] == 0.5  # citations of answerable items: a (ok), b (wrong)
    assert f["retrieval_hit_at_1"] == pytest.approx(1 / 3, abs=1e-4)
    assert f["retrieval_hit_at_k"] == pytest.approx(2 / 3, abs=1e-4)
    assert f["mrr"] == pytest.approx((1 + 0.5) / 3, abs=1e-4)
    assert f["latency_ms"]["p50"] == 30.0 and f["latency_ms"]["p95"] == 40.0
    by_type = aggregate_by_type(results)
    assert set(by_type) == {"numeric", "unanswerable"}
    assert by_type["unanswerable"]["answer_accuracy"] is None


def test_aggregate_of_nothing_has_no_figures() -> None:
    f = aggregate([])
    assert f["answer_accuracy"] is None and f["latency_ms"]["p50"] is None
    assert percentile([5.0], 0.95) == 5.0


def test_gate_names_each_floor_that_fails() -> None:
    figures = {"answer_accuracy": 0.5, "abstention_accuracy": 1.0, "citation_hit_rate": None}
    assert gate(figures, {"min_accuracy": 0.4}) == []
    failed = gate(figures, {"min_accuracy": 0.9, "min_abstention": 0.9, "min_citation": 0.1})
    assert failed == [
        "answer_accuracy 0.500 is below --min-accuracy 0.9",
        "citation_hit_rate n/a is below --min-citation 0.1",
    ]


def test_load_gold_skips_bad_lines_with_their_numbers(tmp_path: Path) -> None:
    good = {
        "id": "a",
        "question": "Q?",
        "answer": "A",
        "must_include": [["a"]],
        "sources": ["s"],
        "evidence": ["e"],
        "type": "factoid",
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({k: v for k, v in good.items() if k != "evidence"} | {"id": "b"}),
        "",
        json.dumps(good),
        json.dumps(good | {"id": "c", "type": "riddle"}),
    ]
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    items, warnings = load_gold(path)
    assert [i.id for i in items] == ["a"]
    assert [w.split(":")[0] for w in warnings] == [
        "gold.jsonl line 2",
        "gold.jsonl line 3",
        "gold.jsonl line 5",
        "gold.jsonl line 6",
    ]
    assert "missing field 'evidence'" in warnings[1] and "duplicate id" in warnings[2]


def test_a_missing_gold_file_names_the_fix(tmp_path: Path) -> None:
    from mali_qa.errors import MaliQAError

    with pytest.raises(MaliQAError, match="--gold"):
        load_gold(tmp_path / "nope.jsonl")


def test_judge_item_with_a_scripted_model() -> None:
    replies = iter(['Sure: {"claims": 2, "supported": 1}', '{"correct": true}'])
    prompts: list[str] = []

    def complete(prompt: str) -> str:
        prompts.append(prompt)
        return next(replies)

    result = score_item(item(), answer("59 [1]", cites=[cite("a", GOOD_PASSAGE)]), 1.0)
    verdict = judge_item(complete, result)
    assert verdict == {"id": "q1", "faithfulness": 0.5, "correct": True}
    assert GOOD_PASSAGE in prompts[0] and "59." in prompts[1]
    summary = summarize_judged([verdict, {"id": "q2", "error": "x"}], errors=1)
    assert summary["faithfulness"] == 0.5 and summary["correctness"] == 1.0 and summary["errors"] == 1


def test_judge_item_rejects_a_reply_without_json() -> None:
    result = score_item(item(), answer("59"), 1.0)
    with pytest.raises(ValueError):
        judge_item(lambda prompt: "I think it is fine.", result)


def test_the_benchmark_scores_answers_with_the_eval_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import sys

    from mali_qa.eval import gold as eval_gold
    from mali_qa.eval import scoring

    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(benchmarks))
    spec = importlib.util.spec_from_file_location("bench_under_test", benchmarks / "bench.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    harness = sys.modules["harness"]
    assert bench.score_item is scoring.score_item and bench.missing_groups is scoring.missing_groups
    assert harness.percentile is scoring.percentile and harness.load_gold is eval_gold.load_gold
    # the plain pipeline's long chunk holding the answer fails for its length, as in `mali-qa eval`
    chunk = "word " * 120 + "59 soldiers died"
    r = bench.score_item(item(), Answer(text=chunk, answered=True), 0.0)
    assert not r["correct"] and r["reason"] == "too long (123 words > 100)"
    results = [
        score_item(item(), answer("59 [1]"), 1.0),
        r,
        score_item(item("unanswerable", id="q3"), answer(NO_ANSWER, answered=False), 1.0),
    ]
    figures = bench.accuracy(results)
    assert figures["answerable"] == "1/2" and figures["unanswerable"] == "1/1"
    assert figures["answer_accuracy"] == aggregate(results)["answer_accuracy"] == 0.5
    assert harness.latency_summary([10.0, 20.0, 30.0, 40.0])["p95_ms"] == percentile(
        [10.0, 20.0, 30.0, 40.0], 0.95
    )


@pytest.mark.integration
def test_cli_eval_on_a_small_gold_file(
    built_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mali_qa import service
    from mali_qa.cli import main

    monkeypatch.setenv("MALI_QA_SEEDS_DIR", str(built_settings.seeds_dir))
    monkeypatch.setenv("MALI_QA_VECTORSTORE_DIR", str(built_settings.vectorstore_dir))
    monkeypatch.setenv("MALI_QA_ENGINE", "offline")
    rows = [
        {
            "id": "t1",
            "question": "How many French soldiers were killed in Mali?",
            "answer": "59.",
            "must_include": [["59", "fifty-nine"]],
            "sources": ["002_07d3930ec7cbf04e"],
            "evidence": ["59 French soldiers were killed in Mali"],
            "type": "numeric",
        },
        {
            "id": "t2",
            "question": "Who won the 2022 FIFA World Cup?",
            "answer": NO_ANSWER,
            "must_include": [],
            "sources": [],
            "evidence": [],
            "type": "unanswerable",
        },
    ]
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "\n".join([json.dumps(rows[0]), '{"id": "broken", "question": ', json.dumps(rows[1])]) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "report"
    service.reset()
    try:
        code = main(["eval", "--gold", str(gold), "--out", str(out), "--engine", "offline", "--quiet"])
        captured = capsys.readouterr()
        assert code == 0
        assert "line 2" in captured.err
        assert {p.name for p in out.iterdir()} >= {"report.json", "report.md", "report.png"}
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        assert report["skipped"] == 1 and len(report["items"]) == 2
        assert report["engine"] == "offline" and set(report["by_type"]) == {"numeric", "unanswerable"}
        for key in ("answer_accuracy", "precision", "abstention_accuracy", "citation_hit_rate", "mrr"):
            assert key in report
        assert "## Failures" in (out / "report.md").read_text(encoding="utf-8")

        code = main(["eval", "--gold", str(gold), "--out", str(out), "--quiet", "--min-accuracy", "1.01"])
        captured = capsys.readouterr()
        assert code == 1 and "--min-accuracy 1.01" in captured.err

        assert main(["eval", "--gold", str(tmp_path / "missing.jsonl"), "--out", str(out)]) == 1
        assert "--gold" in capsys.readouterr().err
    finally:
        service.reset()
