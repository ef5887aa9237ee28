"""The chat's conversation as data: the history a follow-up question is asked with (failed turns left out), the
question an answer replies to, and the distinct passages shown under an abstention."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mali_qa.types import Passage, Turn


def history_for(messages: Iterable[Mapping[str, Any]]) -> list[Turn]:
    """The conversation for `ask_stream(history=...)`: answered exchanges only, failed turns left out.

    `messages` alternate {"role": "user", "content": ...} and {"role": "assistant", "content": ...,
    "error": optional message}; a user turn whose reply failed is dropped together with the reply.
    """
    turns: list[Turn] = []
    pending: Turn | None = None
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if not isinstance(content, str):
            continue
        if role == "user":
            pending = {"role": "user", "content": content}
        elif role == "assistant" and pending is not None:
            if not message.get("error") and content.strip():
                turns.extend([pending, {"role": "assistant", "content": content}])
            pending = None
    return turns


def question_for(messages: Sequence[Mapping[str, Any]], message_id: str) -> str:
    """The user question an assistant message answers ("" when there is none)."""
    for i, message in enumerate(messages):
        if message.get("id") == message_id:
            for earlier in reversed(messages[:i]):
                if earlier.get("role") == "user":
                    return str(earlier.get("content", ""))
    return ""


def closest_passages(passages: Sequence[Passage], limit: int = 5) -> list[Passage]:
    """The passages an abstaining answer looked at, in retrieval order (best first), one per distinct text."""
    seen: set[str] = set()
    out: list[Passage] = []
    for passage in passages:
        if passage.text in seen:
            continue
        seen.add(passage.text)
        out.append(passage)
        if len(out) >= limit:
            break
    return out
