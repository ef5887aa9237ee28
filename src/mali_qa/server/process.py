"""A server of ours in a child process, as the tests and the benchmarks start one: a free loopback port,
waiting until it answers its health check, and stopping it by its own process id."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(
    health_url: str,
    proc: subprocess.Popen[bytes],
    *,
    name: str,
    log: Path | None = None,
    timeout: float = 60.0,
    poll: float = 0.1,
) -> None:
    """Wait until `health_url` answers 200, asking every `poll` seconds; fail naming `name` (with the tail of
    its `log`) when the server exits first, or when it is not healthy within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = f":\n{log.read_text(errors='replace')[-3000:]}" if log is not None else ""
            raise RuntimeError(f"{name} exited with code {proc.returncode}{tail}")
        try:
            with urllib.request.urlopen(health_url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(poll)
    raise TimeoutError(f"{name} was not healthy at {health_url} after {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Stop a server we started, by its process: terminate, then kill after `timeout` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
