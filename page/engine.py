"""The index and the model, loaded once per server process in a background thread, so that the page draws
at once: `app.py` starts the load when the server starts; a script run waits for it only when it needs it."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import Future

from mali_qa.config import WARM_UP_QUESTION, Settings

#: The server log's line for each load (benchmarks/page_latency.py counts them: reruns must not reload).
LOAD_LINE = "mali-qa page: loaded the index and model"

SWITCH_INTERVAL = 0.0005
_lock = threading.Lock()
_loads: dict[Settings, Future[float]] = {}
_settings: list[Settings] = []


def page_settings() -> Settings:
    """The settings of `.env` and the environment, read once per process (`forget` reads them again)."""
    with _lock:
        if not _settings:
            _settings.append(Settings.from_env())
        return _settings[0]


def start_loading(settings: Settings) -> Future[float]:
    """Start loading the index and model for `settings` in the background, unless a load is under way or
    done; a failed load is tried again. The future's result is the seconds the load took."""
    with _lock:
        future = _loads.get(settings)
        if future is None or (future.done() and future.exception() is not None):
            future = Future()
            _loads[settings] = future
            thread = threading.Thread(target=_load, args=(settings, future), name="mali-qa-load", daemon=True)
            thread.start()
        return future


def loaded(settings: Settings) -> bool:
    with _lock:
        future = _loads.get(settings)
    return future is not None and future.done() and future.exception() is None


def wait_loaded(settings: Settings, timeout: float | None = None) -> float:
    """Block until the index and model are loaded (raising the load's error); the load's seconds."""
    return start_loading(settings).result(timeout=timeout)


def _load(settings: Settings, future: Future[float]) -> None:
    started = time.perf_counter()
    # While this thread imports and loads (GIL-bound Python for seconds), hand the GIL over sooner (5 ms by
    # default), so that the server's event loop and the visitors' script runs keep drawing the page.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
    try:
        from mali_qa.service import ask_stream  # the heavy imports: llama-index, chromadb, onnxruntime

        for _ in ask_stream(
            WARM_UP_QUESTION, settings=settings
        ):  # loads (or first builds) the index, warms the model
            pass
    except BaseException as exc:  # handed to whoever waits: the page shows it
        future.set_exception(exc)
        return
    finally:
        sys.setswitchinterval(interval)
    seconds = time.perf_counter() - started
    print(f"{LOAD_LINE} in {seconds:.2f} s", file=sys.stderr, flush=True)
    future.set_result(seconds)


def forget() -> None:
    """Drop the loads and the settings (tests; the library's own caches are reset by `mali_qa.service.reset`)."""
    with _lock:
        _loads.clear()
        _settings.clear()
