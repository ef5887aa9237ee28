"""The page's conversations kept in SQLite (stdlib sqlite3, one file in MALI_QA_CONVERSATIONS_DIR), so that a
`?c=` link still opens its conversation after a server restart. Each conversation belongs to the browser that
made it: rows are stored under a hash of that browser's secret (a cookie the page sets), and every read, list,
rename and delete asks for it, so an id alone (unguessable: 128 random bits) opens nothing, and no browser
sees another's list. No Streamlit here: `page/chat.py` draws it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import secrets
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mali_qa.types import Answer, Citation, Passage

FILE_NAME = "conversations.sqlite3"
#: A conversation id as the page makes them (and the only kind it accepts from a URL).
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: A browser's secret as the page makes them (the cookie's value).
OWNER_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
MAX_TITLE = 80
#: The most conversations kept per browser; the oldest go first.
MAX_PER_OWNER = 200
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    updated TEXT NOT NULL,
    messages TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS by_owner ON conversations (owner, updated);
"""


def new_conversation_id() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits


def new_owner_secret() -> str:
    return secrets.token_urlsafe(32)


def _owner_key(secret: str) -> str:
    """What the database keeps of a browser's secret: its hash (a copy of the file reveals no cookie)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Saved:
    """One conversation as the sidebar lists it."""

    id: str
    title: str
    updated: str


def title_for(messages: Sequence[Mapping[str, Any]]) -> str:
    """A conversation's first title: its first question, shortened."""
    first = next((str(m.get("content", "")) for m in messages if m.get("role") == "user"), "")
    first = " ".join(first.split())
    return first if len(first) <= MAX_TITLE else first[: MAX_TITLE - 1].rstrip() + "…"


# --------------------------------------------------------------------------- messages as JSON


def _rebuild(kind: type, data: Mapping[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(kind)}
    return kind(**{k: v for k, v in data.items() if k in names})


def answer_from_json(data: Mapping[str, Any]) -> Answer:
    """An Answer from `dataclasses.asdict` output (fields this version does not know are left out)."""
    fields = dict(data)
    fields["citations"] = [_rebuild(Citation, c) for c in fields.get("citations") or []]
    passages = []
    for p in fields.get("retrieved") or []:
        scores = tuple(tuple(s) for s in p.get("sentence_scores") or ())
        passages.append(_rebuild(Passage, {**p, "sentence_scores": scores}))
    fields["retrieved"] = passages
    answer: Answer = _rebuild(Answer, fields)
    return answer


def messages_to_json(messages: Sequence[Mapping[str, Any]]) -> str:
    out = []
    for message in messages:
        item = dict(message)
        if isinstance(item.get("answer"), Answer):
            item["answer"] = dataclasses.asdict(item["answer"])
        out.append(item)
    return json.dumps(out, ensure_ascii=False)


def messages_from_json(text: str) -> list[dict[str, Any]]:
    messages = []
    for item in json.loads(text):
        if isinstance(item.get("answer"), dict):
            item["answer"] = answer_from_json(item["answer"])
        messages.append(item)
    return messages


# --------------------------------------------------------------------------- the database


class SavedConversations:
    """The conversations of one SQLite file; a connection per call, so any thread may use it."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / FILE_NAME

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.executescript(_SCHEMA)
            with db:  # one transaction: committed, or rolled back on an error
                yield db

    def get(self, conversation_id: str, owner: str) -> list[dict[str, Any]] | None:
        """The conversation's messages when `owner` (a browser's secret) made it; None otherwise."""
        if not (CONVERSATION_ID.match(conversation_id or "") and OWNER_SECRET.match(owner or "")):
            return None
        with self._db() as db:
            row = db.execute(
                "SELECT messages FROM conversations WHERE id = ? AND owner = ?",
                (conversation_id, _owner_key(owner)),
            ).fetchone()
        if row is None:
            return None
        try:
            return messages_from_json(row[0])
        except (ValueError, TypeError, AttributeError):
            return None

    def put(self, conversation_id: str, owner: str, messages: Sequence[Mapping[str, Any]]) -> None:
        """Save the messages; an id another browser holds is left alone (never overwritten)."""
        if not (CONVERSATION_ID.match(conversation_id or "") and OWNER_SECRET.match(owner or "")):
            return
        key, now = _owner_key(owner), datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            db.execute(
                "INSERT INTO conversations (id, owner, title, updated, messages) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET updated = excluded.updated, messages = excluded.messages"
                " WHERE conversations.owner = excluded.owner",
                (conversation_id, key, title_for(messages) or "Untitled", now, messages_to_json(messages)),
            )
            db.execute(
                "DELETE FROM conversations WHERE owner = ? AND id NOT IN"
                " (SELECT id FROM conversations WHERE owner = ? ORDER BY updated DESC LIMIT ?)",
                (key, key, MAX_PER_OWNER),
            )

    def listing(self, owner: str, limit: int = 50) -> list[Saved]:
        """This browser's conversations, the latest first."""
        if not OWNER_SECRET.match(owner or ""):
            return []
        with self._db() as db:
            rows = db.execute(
                "SELECT id, title, updated FROM conversations WHERE owner = ? ORDER BY updated DESC LIMIT ?",
                (_owner_key(owner), limit),
            ).fetchall()
        return [Saved(*row) for row in rows]

    def rename(self, conversation_id: str, owner: str, title: str) -> None:
        title = " ".join(title.split())[:MAX_TITLE]
        if title and OWNER_SECRET.match(owner or ""):
            with self._db() as db:
                db.execute(
                    "UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                    (title, conversation_id, _owner_key(owner)),
                )

    def delete(self, conversation_id: str, owner: str) -> None:
        if OWNER_SECRET.match(owner or ""):
            with self._db() as db:
                db.execute(
                    "DELETE FROM conversations WHERE id = ? AND owner = ?",
                    (conversation_id, _owner_key(owner)),
                )
