"""How the service streams and waits: server-sent events that always encode, a watch for the client going
away, the next item of an answer pulled on a worker thread whose model calls stop when it has gone, and the
streamed response that gives its answer slot back however it ends."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from mali_qa.answer.llm import cancel_on
from mali_qa.server.security import Slot
from mali_qa.types import Answer


def sse_event(data: dict[str, Any] | str) -> bytes:
    """One server-sent event, as bytes that always encode (a lone surrogate would end the stream)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode("utf-8", "replace")


async def until_disconnect(receive: Receive, gone: threading.Event) -> None:
    """Set `gone` when the client closes the connection (the request body was read before)."""
    while not gone.is_set():
        if (await receive())["type"] == "http.disconnect":
            gone.set()


async def pull_next(items: Iterator[str | Answer], gone: threading.Event) -> str | Answer | None:
    """The next item of an answer stream, computed on a worker thread whose model calls stop when `gone`."""
    token = cancel_on.set(gone)
    try:
        return await run_in_threadpool(next, items, None)
    finally:
        cancel_on.reset(token)


class AnswerStream(StreamingResponse):
    """A streamed answer that stops its model call when the client goes away and gives its slot back when
    it ends, however it ends (finished, failed, or the client gone)."""

    def __init__(self, body: AsyncIterator[bytes], slot: Slot, gone: threading.Event) -> None:
        super().__init__(
            body,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.slot, self.gone = slot, gone

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.ensure_future(until_disconnect(receive, self.gone))
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.gone.set()  # the response is over: nobody reads a model call of this request any more
            watcher.cancel()
            self.slot.release()
