"""Hand-made passages for the engine's unit tests."""

from __future__ import annotations

from mali_qa.types import Passage


def one_passage(text: str, pid: str = "b#0000", start: int = 0, score: float = 1.0) -> Passage:
    """A passage of `text` starting at `start` in its article (the id's part before "#")."""
    end = start + len(text)
    return Passage(
        id=pid, article_id=pid.partition("#")[0], title="French troops leave Mali", text=text, start=start,
        end=end, score=score, dense_score=0.4, sentence_scores=((start, end, 0.4),),
    )  # fmt: skip
