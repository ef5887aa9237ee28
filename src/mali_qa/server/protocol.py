"""uvicorn's HTTP protocol with a request-read deadline: a connection that has not sent a whole request (its
headers and body) within READ_TIMEOUT_S of opening, or of starting its next request, is closed. uvicorn
itself times out only idle keep-alive connections, so a half-sent request held a connection for ever."""

from __future__ import annotations

import asyncio
from typing import Any

try:  # the parser uvicorn picks itself when it is installed
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - httptools missing
    from uvicorn.protocols.http.h11_impl import H11Protocol as _Base  # type: ignore[assignment]

#: Seconds a client has to send a whole request, from its connection or from the start of its next request.
READ_TIMEOUT_S = 10.0


class ReadTimeoutProtocol(_Base):
    """uvicorn's protocol, closing a connection whose request is not read within READ_TIMEOUT_S."""

    _read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        super().data_received(data)
        cycle = self.cycle
        if cycle is None or cycle.more_body or (cycle is before and cycle.response_complete):
            if self._read_timer is None:
                self._arm()  # a request has begun and is not whole yet
        else:
            self._disarm()  # the request is read: the app's own time starts

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(READ_TIMEOUT_S, self._too_slow)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _too_slow(self) -> None:
        self._read_timer = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            return  # a whole request is being answered
        if not self.transport.is_closing():
            self.transport.close()
