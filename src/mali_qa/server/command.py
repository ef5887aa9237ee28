"""`mali-qa serve`: run the HTTP service under uvicorn, on loopback unless a token is set, with a deadline
for reading each request and a printable ASCII token."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mali_qa.server.security import check_bind, check_token

#: What uvicorn imports in each worker: a factory reading `.env` and the environment.
APP_FACTORY = "mali_qa.server.app:create_app"


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mali_qa.server.protocol import ReadTimeoutProtocol
    from mali_qa.service import default_settings  # imported here: `mali-qa --help` stays light

    settings = default_settings()
    check_bind(args.host, settings)
    check_token(settings)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    access = "token required" if settings.server_token.get_secret_value() else "no token, loopback only"
    print(
        f"mali-qa serve: http://{shown}:{args.port}/v1 ({access}; docs at /docs; "
        f"{args.workers} worker(s), {settings.server_max_concurrent} answers at once each)",
        file=sys.stderr,
    )
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        server_header=False,
        timeout_graceful_shutdown=10,
        http=ReadTimeoutProtocol,  # a half-sent request is closed after READ_TIMEOUT_S
        timeout_keep_alive=5,  # an idle kept-alive connection is closed after 5 s
    )
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def add_command(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "serve", help="an OpenAI-compatible HTTP service (chat completions with citations, /v1/ask)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument(
        "--workers", type=_positive, default=1, help="worker processes, each loading the index (default 1)"
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn's log level (default info)",
    )
    p.set_defaults(func=cmd_serve)
