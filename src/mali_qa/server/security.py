"""The service's guards: loopback unless a token is set, the bearer token (printable ASCII), the Host header
(loopback names unless configured: no DNS rebinding), the body size limit, the bound on answers computed at
once, and messages cleaned of server paths for clients without the token."""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mali_qa.config import Settings
from mali_qa.errors import ConfigError
from mali_qa.server.schemas import error_json

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Seconds a client is told to wait (Retry-After) when every answer slot is taken.
RETRY_AFTER_S = 1


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (127.0.0.0/8, ::1) or `localhost`."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(host: str, settings: Settings) -> None:
    """Refuse to listen beyond loopback without a token."""
    if not is_loopback(host) and not settings.server_token.get_secret_value():
        raise ConfigError(
            f"--host {host} is reachable from other machines, so the service needs a token: set "
            "MALI_QA_SERVER_TOKEN in .env or the environment (clients send it as 'Authorization: Bearer "
            "<token>'), or listen on 127.0.0.1"
        )


def check_token(settings: Settings) -> None:
    """Refuse a token that clients cannot send: HTTP headers carry printable ASCII only."""
    token = settings.server_token.get_secret_value()
    if token and not all(" " < ch < "\x7f" for ch in token):
        raise ConfigError(
            "MALI_QA_SERVER_TOKEN must be printable ASCII without spaces (clients send it in an HTTP header): "
            "pick one with `python -c 'import secrets; print(secrets.token_urlsafe(24))'`"
        )


def allowed_hosts(settings: Settings) -> frozenset[str] | None:
    """The Host names the service answers to (lower case, no port), or None for any: with a token and no
    MALI_QA_SERVER_ALLOWED_HOSTS any name is answered (the token guards), else loopback names and the list."""
    listed = {h.strip().lower() for h in settings.server_allowed_hosts.split(",") if h.strip()}
    if "*" in listed or (not listed and settings.server_token.get_secret_value()):
        return None
    return frozenset(listed)


def host_name(header: str) -> str:
    """The name of a Host header without its port: `[::1]:8000` -> `::1`, `LocalHost:80` -> `localhost`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostCheck:
    """ASGI middleware: a 400 in OpenAI's shape for a Host header that names neither a loopback address nor
    an allowed host, so that a page whose name was rebound to 127.0.0.1 cannot talk to the service."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allowed is not None and scope["type"] in ("http", "websocket"):
            header = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            name = host_name(header)
            if not (is_loopback(name) or name in self.allowed):
                body = error_json(
                    400,
                    f"the Host header {header[:100]!r} is not allowed: use 127.0.0.1 or localhost, or list the "
                    "name in MALI_QA_SERVER_ALLOWED_HOSTS",
                    code="host_not_allowed",
                )
                await send_json(send, 400, body, {"connection": "close"})
                return
        await self.app(scope, receive, send)


#: An absolute path in a message: POSIX (`/srv/x/vectorstore`) or Windows (`C:\\x`).
_ABSOLUTE = re.compile(r"(?<![\w.:/])(?:[A-Za-z]:)?[\\/](?:[^\s'\"`:\\/]+[\\/]?)*")


def without_paths(message: str) -> str:
    """`message` with each absolute path cut to its last part (`/srv/mali/vectorstore` -> `vectorstore`)."""
    return _ABSOLUTE.sub(lambda m: re.split(r"[\\/]", m.group(0).rstrip("\\/"))[-1] or "/", message)


class TokenCheck:
    """The bearer token check of every /v1 request: a 401 in OpenAI's shape when it is missing or wrong.
    Without a token the service answers only requests that reached it through a loopback address."""

    def __init__(self, settings: Settings) -> None:
        self._token = settings.server_token.get_secret_value().encode()

    def problem(self, authorization: str | None, local_host: str | None) -> tuple[int, str] | None:
        """(status, message) when the request may not go on, else None."""
        if not self._token:
            if local_host is not None and not is_loopback(local_host):
                return 403, (
                    "this server has no MALI_QA_SERVER_TOKEN, so it answers only on loopback: "
                    "set a token to serve other machines"
                )
            return None
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return 401, "missing bearer token: send the header 'Authorization: Bearer <MALI_QA_SERVER_TOKEN>'"
        if not secrets.compare_digest(given.strip().encode(), self._token):
            return 401, "invalid bearer token: send the value of the server's MALI_QA_SERVER_TOKEN"
        return None


class Slot:
    """One taken answer slot; `release` gives it back once, however often it is called."""

    def __init__(self, limiter: Limiter) -> None:
        self._limiter: Limiter | None = limiter
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            limiter, self._limiter = self._limiter, None
        if limiter is not None:
            limiter.release()


class Limiter:
    """At most `limit` answers at once; `try_acquire` never waits (the caller answers 429 instead)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self.active >= self.limit:
                return False
            self.active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.active = max(0, self.active - 1)

    def take(self) -> Slot | None:
        """A slot to release in a `finally`, or None when all are taken."""
        return Slot(self) if self.try_acquire() else None


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """A whole JSON response through a raw ASGI `send`."""
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """ASGI middleware: a 413 in OpenAI's error shape for a body over `limit` bytes, declared
    (Content-Length) or sent in chunks, before the app reads any of it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _too_large(self) -> dict[str, Any]:
        return error_json(
            413,
            f"the request body is over the limit of {self.limit} bytes: send a shorter question and history "
            "(or raise MALI_QA_SERVER_MAX_BODY_BYTES)",
            code="request_too_large",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.limit:
                await send_json(send, 413, self._too_large(), {"connection": "close"})
                return
            await self.app(scope, receive, send)  # the HTTP parser holds the body to its declared length
            return
        # a chunked body: read it here, up to the limit, then hand it on
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await send_json(send, 413, self._too_large(), {"connection": "close"})
                return
            if not message.get("more_body", False):
                break
        replay = iter(messages)

        async def receive_again() -> Message:
            try:
                return next(replay)
            except StopIteration:
                return await receive()

        await self.app(scope, receive_again, send)
