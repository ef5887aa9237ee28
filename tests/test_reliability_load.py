"""Reliability under load: concurrent questions in one process get the answers of a single thread, and memory
stays flat over a thousand questions."""

from __future__ import annotations

import gc
import os
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mali_qa.service import ask
from mali_qa.types import Answer

pytestmark = pytest.mark.slow

QUESTIONS = [
    "Who controlled the Wagner Group?",
    "When did the last French troops leave Mali?",
    "How many French soldiers were killed in Mali?",
    "Why did Russian soldiers deploy to Timbuktu?",
    "What did the Malian army spokesman say?",
    "How long did the French deployment in Mali last?",
    "What did the United Nations report say about Wagner?",
    "Where did the Russian troops relocate?",
    "What arrangement does Mali's government say the Russian troops are there under?",
    "What do analysts think Moscow is after in Africa?",
    "Who leads Mali's military government?",
    "What happened to Yevgeny Prigozhin?",
    "When did Russian military advisers arrive in Mali?",
    "What is Operation Barkhane?",
    "Which base did the French hand over?",
    "How many Malians did Wagner kill according to the UN?",
    "Why did France withdraw from Mali?",
    "What did Paris say about a Wagner deployment?",
    "Who is Assimi Goita?",
    "What is the capital of Mali?",
    "What did the UN peacekeeping mission do?",
    "What is the price of bread in Paris?",
    "Did Russia sign a deal with Mali?",
    "Where is Gao?",
    "What did Emmanuel Macron announce?",
]
THREADS = 8


def key(answer: Answer) -> tuple[Any, ...]:
    return (
        answer.text,
        answer.answered,
        tuple((c.source, c.start, c.end, c.quote_start, c.quote_end, c.quote) for c in answer.citations),
    )


def test_threads_give_the_answers_of_one_thread(built_settings: Any) -> None:
    expected = {q: key(ask(q, settings=built_settings)) for q in QUESTIONS}

    def worker(n: int) -> list[tuple[str, tuple[Any, ...]]]:
        order = QUESTIONS[:]
        random.Random(n).shuffle(order)
        return [(q, key(ask(q, settings=built_settings))) for q in order]

    with ThreadPoolExecutor(THREADS) as pool:
        results = [pair for batch in pool.map(worker, range(THREADS)) for pair in batch]
    assert len(results) == THREADS * len(QUESTIONS)
    differing = [q for q, got in results if got != expected[q]]
    assert not differing, differing


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_memory_stays_flat_over_a_thousand_questions(built_settings: Any) -> None:
    rng = random.Random(7)
    history: list[Any] = []
    for i in range(50):  # warm-up
        ask(QUESTIONS[i % len(QUESTIONS)], settings=built_settings)
    gc.collect()
    start = rss_mb()
    peak = start
    for i in range(1000):
        question = QUESTIONS[i % len(QUESTIONS)]
        if i % 5 == 0:  # a follow-up now and then, and a question never asked before
            answer = ask("And when was that?", history=history, settings=built_settings)
        else:
            suffix = "" if i % 3 else f" (item {rng.randint(0, 10**6)})"
            answer = ask(question + suffix, settings=built_settings)
            history = [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer.text},
            ]
        if i % 100 == 99:
            gc.collect()
            peak = max(peak, rss_mb())
    gc.collect()
    end = rss_mb()
    print(f"\nRSS {start:.1f} MB after warm-up, {end:.1f} MB after 1,000 questions (peak {peak:.1f} MB)")
    assert end - start < 50, (start, end, peak)
