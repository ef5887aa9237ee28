"""The page's thumbs up/down feedback, appended to a local JSONL file (conversations are kept by `page.saved`)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mali_qa.types import Answer

#: The feedback file stops growing past this size (a visitor clicking forever cannot fill the disk).
MAX_FEEDBACK_BYTES = 20 * 1024 * 1024
RATINGS = {0: "down", 1: "up"}


_feedback_lock = threading.Lock()


class FeedbackFullError(OSError):
    """The feedback file has reached MAX_FEEDBACK_BYTES."""


def feedback_record(
    *,
    rating: int | None,
    question: str,
    answer: Answer,
    conversation: str,
    message_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One line of the feedback file: the rating with the question, the answer and its citations."""
    return {
        "time": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "rating": RATINGS.get(rating, "cleared") if rating is not None else "cleared",
        "question": question,
        "answer": answer.text,
        "short": answer.short,
        "answered": answer.answered,
        "engine": answer.engine,
        "query": answer.query,
        "citations": [
            {"n": n, "source": c.source, "title": c.title, "quote": c.quote, "supported": c.supported}
            for n, c in enumerate(answer.citations, 1)
        ],
        "conversation": conversation,
        "message": message_id,
    }


def append_feedback(path: Path, record: Mapping[str, Any], *, max_bytes: int = MAX_FEEDBACK_BYTES) -> None:
    """Append `record` as one JSON line, under a lock so that lines never interleave. A short write is
    completed; a write that stops (a full disk) is undone, so no half line glues itself to the next record,
    and raises an OSError saying so."""
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    with _feedback_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        size = path.stat().st_size if path.exists() else 0
        if size + len(line) > max_bytes:
            raise FeedbackFullError(f"the feedback file is full ({max_bytes // (1024 * 1024)} MB)")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            start, done = os.fstat(fd).st_size, 0
            try:
                while done < len(line):
                    written = os.write(fd, line[done:])
                    if written <= 0:
                        raise OSError(f"the feedback file {path.name} took no more bytes (is the disk full?)")
                    done += written
            except OSError as exc:
                os.ftruncate(fd, start)  # the half record goes: the file stays whole lines
                raise OSError(f"the rating was not saved: {exc}") from exc
        finally:
            os.close(fd)


#: The fields of a feedback record the page reads, and the type each must have.
_FEEDBACK_FIELDS: dict[str, type | tuple[type, ...]] = {
    "time": str,
    "rating": str,
    "question": str,
    "answer": str,
    "short": str,
    "engine": str,
    "query": str,
    "conversation": str,
    "message": str,
    "answered": bool,
    "citations": list,
}


def _well_formed(record: Any) -> bool:
    """Whether a parsed line is a feedback record the page can show: an object whose known fields have
    their types, and whose citations are objects."""
    if not isinstance(record, dict):
        return False
    for name, kind in _FEEDBACK_FIELDS.items():
        if name in record and record[name] is not None and not isinstance(record[name], kind):
            return False
    return all(isinstance(c, dict) for c in record.get("citations") or [])


def read_feedback(path: Path, *, limit: int = 500) -> list[dict[str, Any]]:
    """The latest rating of each rated answer, newest first (cleared ones left out; lines that are not JSON
    or not a well-formed record skipped)."""
    latest: dict[str, dict[str, Any]] = {}
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if _well_formed(record):
                    key = str(record.get("message") or len(latest))
                    latest.pop(key, None)
                    latest[key] = record
    except OSError:
        return []
    rated = [r for r in latest.values() if r.get("rating") in ("up", "down")]
    return list(reversed(rated))[:limit]
