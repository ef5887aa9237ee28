"""The chat model client: llama-index's OpenAI (OpenAI's API) or OpenAILike (any OpenAI-compatible server),
over an openai client that does the retrying and the timeout itself; built on first use, never at import."""

from __future__ import annotations

import os
import threading
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mali_qa import cache
from mali_qa.config import Settings

if TYPE_CHECKING:
    import httpx
    from llama_index.core.llms import LLM

OPENAI_API_BASE = "https://api.openai.com/v1"
#: Longest reply asked of a non-reasoning model (the prompt asks for under 100 words).
MAX_REPLY_TOKENS = 300
#: What llama-index's own `api_key` field holds: the real key lives only inside the openai client.
KEY_PLACEHOLDER = "held-by-the-openai-client"

_lock = threading.Lock()
_llms: dict[Settings, LLM] = cache.register("chat model clients")


def use_bundled_tiktoken() -> None:
    """Point tiktoken at llama-index-core's bundled encodings, so that nothing is downloaded (unless the
    environment already chose a cache folder)."""
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    spec = find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return
    folder = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    if folder.is_dir():
        os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)


def make_http_client(settings: Settings) -> httpx.Client | None:
    """The httpx client under the openai client; None lets openai make its own (tests swap this)."""
    return None


def server_label(settings: Settings) -> str:
    """Where the model lives, for messages: scheme, host and port only (never credentials or paths)."""
    parts = urlsplit(settings.openai_base_url or OPENAI_API_BASE)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def get_llm(settings: Settings) -> LLM:
    """One chat model client per settings, shared by every question of the process."""
    with _lock:
        llm = _llms.get(settings)
        if llm is None:
            llm = build_llm(settings, http_client=make_http_client(settings))
            _llms[settings] = llm
        return llm


def forget_clients() -> None:
    """Drop the cached clients (tests, or after the settings changed)."""
    with _lock:
        _llms.clear()


def build_llm(settings: Settings, *, http_client: httpx.Client | None = None) -> LLM:
    """OpenAI for a model llama-index knows and no base URL; OpenAILike for a base URL or an unknown model.
    Retries (timeouts, connection errors, 429, 5xx; with backoff, honouring Retry-After) and the timeout are
    the openai client's own; llama-index's second retry layer is switched off so that they do not multiply."""
    use_bundled_tiktoken()
    from llama_index.llms.openai import OpenAI
    from llama_index.llms.openai.utils import ALL_AVAILABLE_MODELS, O1_MODELS
    from openai import OpenAI as SyncOpenAI

    base = settings.openai_base_url.rstrip("/") or OPENAI_API_BASE
    client = SyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value() or "no-key",
        base_url=base,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        http_client=http_client,
    )
    model = settings.chat_model
    common: dict[str, Any] = {
        "model": model,
        "api_key": KEY_PLACEHOLDER,
        "api_base": base,
        "timeout": settings.timeout,
        "max_retries": 0,
        "openai_client": client,
        "reuse_client": True,
    }
    if model in O1_MODELS:
        # Reasoning models: the temperature is fixed and reasoning tokens count against any cap.
        common.update(reasoning_effort="low")
    else:
        common.update(temperature=settings.temperature, max_tokens=MAX_REPLY_TOKENS)
    if not settings.openai_base_url and model in ALL_AVAILABLE_MODELS:
        return OpenAI(**common)
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(is_chat_model=True, context_window=8192, **common)
