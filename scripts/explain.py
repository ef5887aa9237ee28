"""Shows how the offline engine scored the candidate sentences of a question (a tuning aid)."""

from __future__ import annotations

import sys

from mali_qa.answer.candidates import candidates
from mali_qa.answer.condense import condense
from mali_qa.answer.coverage import score_parts
from mali_qa.answer.question import parts
from mali_qa.answer.reading import unknown_names
from mali_qa.service import default_settings, pipeline_for


def main() -> None:
    question = sys.argv[1]
    history = [
        {"role": role, "content": text}
        for role, text in zip(["user", "assistant"] * 4, sys.argv[2:], strict=False)
    ]
    settings = default_settings()
    pipe = pipeline_for(settings)
    condensed = condense(question, history)
    print("condensed:", condensed)
    question = condensed.question
    passages = pipe.retrieve(condensed.search_text, settings.top_k)
    engine = pipe.offline
    cands = candidates(passages)
    qparts = parts(question)
    scores = score_parts(qparts, cands, engine.vocabulary, condensed.context_terms, frozenset())
    print("unknown names:", unknown_names(question, engine.vocabulary))
    for part in qparts:
        print("PART", part.kind, [(t, round(engine.vocabulary.weight(t), 2)) for t in part.terms])
        rows = []
        scored = scores[part.text]
        for cand, score, covered in zip(cands, scored.score, scored.coverage, strict=True):
            coverage = covered.share
            rows.append((score, coverage, cand.rank, cand.passage.dense_score, cand.text[:110]))
        for row in sorted(rows, reverse=True)[:6]:
            print(f"  {row[0]:.2f} cov={row[1]:.2f} r={row[2]} d={row[3]:.2f} {row[4]}")
    print("ANSWER:", engine.answer(condensed, passages).text)


if __name__ == "__main__":
    main()
