"""Model-judged figures of `mali-qa eval` (generative engine only): faithfulness and correctness."""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections.abc import Callable, Sequence
from typing import Any

from mali_qa.errors import MaliQAError
from mali_qa.eval.scoring import ratio

JUDGE_FAITHFULNESS = """You check an answer against the passages it cites. Split the answer into its
factual claims and count how many are stated or directly implied by the cited passages. Reply with JSON only:
{{"claims": <number of claims>, "supported": <number supported>}}

Cited passages:
{passages}

Answer:
{answer}"""

JUDGE_CORRECTNESS = """Does the candidate answer agree with the reference answer on the facts the
question asks for? Extra correct detail is fine; a missing or contradicting key fact is not.
Reply with JSON only:
{{"correct": true}} or {{"correct": false}}

Question: {question}
Reference answer: {reference}
Candidate answer: {answer}"""


def _json_reply(text: str) -> dict[str, Any]:
    match = re.search(r"\{.*\}", text, re.S)
    if not match:
        raise ValueError(f"no JSON in the judge's reply: {text[:80]!r}")
    data = json.loads(match.group(0))
    if not isinstance(data, dict):
        raise ValueError("the judge's reply is not a JSON object")
    return data


def judge_item(complete: Callable[[str], str], result: dict[str, Any]) -> dict[str, Any]:
    """Model-judged faithfulness (supported claims / claims) and correctness of one answered item."""
    passages = "\n\n".join(f"[{i}] {c['text']}" for i, c in enumerate(result["citations"], 1)) or "(none)"
    verdict: dict[str, Any] = {"id": result["id"]}
    faith = _json_reply(complete(JUDGE_FAITHFULNESS.format(passages=passages, answer=result["answer"])))
    claims, supported = int(faith.get("claims", 0)), int(faith.get("supported", 0))
    verdict["faithfulness"] = round(min(supported, claims) / claims, 4) if claims > 0 else None
    if result["type"] != "unanswerable":
        reply = complete(
            JUDGE_CORRECTNESS.format(
                question=result["question"], reference=result["expected"], answer=result["answer"]
            )
        )
        verdict["correct"] = bool(_json_reply(reply).get("correct"))
    return verdict


def summarize_judged(verdicts: Sequence[dict[str, Any]], errors: int) -> dict[str, Any]:
    """Mean faithfulness and the share judged correct over the verdicts (errors counted apart)."""
    faith = [v["faithfulness"] for v in verdicts if v.get("faithfulness") is not None]
    correct = [v["correct"] for v in verdicts if "correct" in v]
    return {
        "judged_items": len(verdicts),
        "errors": errors,
        "faithfulness": round(statistics.fmean(faith), 4) if faith else None,
        "correctness": ratio(sum(correct), len(correct)),
        "verdicts": list(verdicts),
    }


def judge_results(
    results: Sequence[dict[str, Any]], settings: Any, *, progress: bool = True
) -> dict[str, Any]:
    """Ask the configured chat model to judge every answered item (only with a generative engine)."""
    from tqdm import tqdm

    from mali_qa.answer.llm import get_llm

    llm = get_llm(settings)

    def complete(prompt: str) -> str:
        return str(llm.complete(prompt).text)

    verdicts, errors = [], 0
    answered = [r for r in results if r["answered"]]
    for result in tqdm(answered, desc="judge", unit="q", disable=not progress, file=sys.stderr):
        try:
            verdicts.append(judge_item(complete, result))
        except (ValueError, TypeError, MaliQAError) as exc:
            errors += 1
            verdicts.append({"id": result["id"], "error": str(exc)[:200]})
    summary = summarize_judged(verdicts, errors)
    summary["model"] = getattr(settings, "chat_model", "")
    return summary
