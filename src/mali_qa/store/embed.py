"""Embedding models as llama-index sees them (ingest, and texts other than a question): the bundled
all-MiniLM-L6-v2 (`store.minilm`, run through onnxruntime, never fetched from a hub), or OpenAI embeddings
when chosen."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from mali_qa import cache
from mali_qa.config import Settings
from mali_qa.errors import ConfigError
from mali_qa.store.minilm import BATCH, LOCAL_MODEL_NAME, embed_model_name, shared_minilm


class LocalMiniLMEmbedding(BaseEmbedding):
    """The process's shared MiniLM (`store.minilm.shared_minilm`) behind llama-index's embedding API."""

    cache_dir: Path = Path.home() / ".cache" / "mali-qa"
    threads: int = 1

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("model_name", LOCAL_MODEL_NAME)
        kwargs.setdefault("embed_batch_size", 512)  # sorted by length here, then run in batches of BATCH
        super().__init__(**kwargs)

    @classmethod
    def class_name(cls) -> str:
        return "LocalMiniLMEmbedding"

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors (n, 384) for `texts`."""
        return shared_minilm(self.cache_dir, self.threads).embed(texts)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        # sorted by length, so that each model batch pads little: the same vectors, far fewer tokens
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            for i, vector in zip(rows, self.embed([texts[i] for i in rows]), strict=True):
                out[i] = vector.tolist()
        return out


_models: dict[str, BaseEmbedding] = cache.register("embedding models")
_models_lock = threading.Lock()


def get_embed_model(settings: Settings) -> BaseEmbedding:
    """One embedding model per process and kind."""
    name = embed_model_name(settings)
    with _models_lock:
        if name not in _models:
            _models[name] = _build(settings)
        return _models[name]


def _build(settings: Settings) -> BaseEmbedding:
    if settings.embeddings == "local":
        return LocalMiniLMEmbedding(cache_dir=settings.cache_dir, threads=settings.embed_threads)
    if not settings.generative_configured:
        raise ConfigError("MALI_QA_EMBEDDINGS=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL) in .env")
    from llama_index.embeddings.openai import OpenAIEmbedding

    return OpenAIEmbedding(
        model_name=settings.openai_embed_model,
        api_key=settings.openai_api_key.get_secret_value() or "none",
        api_base=settings.openai_base_url or None,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
    )
