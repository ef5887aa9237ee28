"""The one settings object, read from the environment and `.env` (python-dotenv) in one place."""

from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from .errors import ConfigError


def project_root() -> Path:
    """The checkout holding `seeds/` (editable install), else the current folder."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


class Secret:
    """A string that never shows itself in repr, str, logs or exception messages."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _meta(env: str, doc: str) -> dict[str, str]:
    return {"env": env, "doc": doc}


@dataclass(frozen=True)
class Settings:
    """Every knob of mali-qa; `Settings.from_env()` fills it from the environment and `.env`."""

    seeds_dir: Path = field(
        default_factory=lambda: project_root() / "seeds",
        metadata=_meta("MALI_QA_SEEDS_DIR", "Folder of article files (.txt, .md, .html) to index"),
    )
    vectorstore_dir: Path = field(
        default_factory=lambda: project_root() / "vectorstore",
        metadata=_meta("MALI_QA_VECTORSTORE_DIR", "Folder of the local index (Chroma, BM25, docstore)"),
    )
    collection: str = field(default="mali_qa", metadata=_meta("MALI_QA_COLLECTION", "Chroma collection name"))
    top_k: int = field(default=14, metadata=_meta("MALI_QA_TOP_K", "Passages retrieved per question (1-50)"))
    max_question_chars: int = field(
        default=1000, metadata=_meta("MALI_QA_MAX_QUESTION_CHARS", "Longest question accepted, in characters")
    )
    engine: str = field(
        default="auto",
        metadata=_meta(
            "MALI_QA_ENGINE", "Answer engine: auto (openai when a key or base URL is set), offline, openai"
        ),
    )
    embeddings: str = field(
        default="local",
        metadata=_meta("MALI_QA_EMBEDDINGS", "Embedding model: local (bundled all-MiniLM-L6-v2) or openai"),
    )
    openai_embed_model: str = field(
        default="text-embedding-3-small",
        metadata=_meta("MALI_QA_OPENAI_EMBED_MODEL", "OpenAI embedding model when MALI_QA_EMBEDDINGS=openai"),
    )
    openai_api_key: Secret = field(
        default_factory=lambda: Secret(""),
        metadata=_meta("OPENAI_API_KEY", "OpenAI API key (secret; never logged or shown)"),
    )
    openai_base_url: str = field(
        default="",
        metadata=_meta(
            "OPENAI_BASE_URL", "Base URL of any OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1"
        ),
    )
    chat_model: str = field(
        default="gpt-4.1-mini",
        metadata=_meta("MALI_QA_CHAT_MODEL", "Chat model used by the generative engine"),
    )
    temperature: float = field(
        default=0.0, metadata=_meta("MALI_QA_TEMPERATURE", "Sampling temperature of the chat model (0-2)")
    )
    timeout: float = field(
        default=30.0, metadata=_meta("MALI_QA_TIMEOUT", "Seconds before a model request times out")
    )
    max_retries: int = field(
        default=2, metadata=_meta("MALI_QA_MAX_RETRIES", "Retries of a failed model request, with backoff")
    )
    chroma_host: str = field(
        default="", metadata=_meta("CHROMA_HOST", "Chroma server host; empty keeps the index in vectorstore/")
    )
    chroma_port: int = field(default=8000, metadata=_meta("CHROMA_PORT", "Chroma server port"))
    cache_dir: Path = field(
        default_factory=lambda: Path.home() / ".cache" / "mali-qa",
        metadata=_meta("MALI_QA_CACHE_DIR", "Where the ONNX export of the bundled model is kept (made once)"),
    )
    embed_threads: int = field(
        default=2, metadata=_meta("MALI_QA_EMBED_THREADS", "CPU threads of the local embedding model")
    )
    debug: bool = field(
        default=False, metadata=_meta("MALI_QA_DEBUG", "Show full tracebacks instead of one-line errors")
    )

    @classmethod
    def from_env(cls, env_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
        """Read `.env` (without overriding the real environment), then the environment, then overrides."""
        path = Path(env_file) if env_file else project_root() / ".env"
        values: dict[str, str | None] = dict(dotenv_values(path)) if path.is_file() else {}
        values.update(os.environ)
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            raw = values.get(f.metadata["env"])
            if raw is None or raw.strip() == "":
                continue
            kwargs[f.name] = _parse(f.name, f.metadata["env"], raw.strip(), f.type)
        kwargs.update(overrides)
        return cls(**kwargs).validated()

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes).validated()

    def validated(self) -> Settings:
        if not 1 <= self.top_k <= 50:
            raise ConfigError(f"MALI_QA_TOP_K must be between 1 and 50, got {self.top_k}: fix it in .env")
        if self.engine not in {"auto", "offline", "openai"}:
            raise ConfigError(f"MALI_QA_ENGINE must be auto, offline or openai, got {self.engine!r}")
        if self.embeddings not in {"local", "openai"}:
            raise ConfigError(f"MALI_QA_EMBEDDINGS must be local or openai, got {self.embeddings!r}")
        if self.max_question_chars < 10:
            raise ConfigError("MALI_QA_MAX_QUESTION_CHARS must be at least 10: fix it in .env")
        if self.engine == "openai" and not self.generative_configured:
            raise ConfigError("MALI_QA_ENGINE=openai needs OPENAI_API_KEY or OPENAI_BASE_URL in .env")
        return self

    @property
    def generative_configured(self) -> bool:
        return bool(self.openai_api_key) or bool(self.openai_base_url)

    @property
    def use_generative(self) -> bool:
        return self.engine == "openai" or (self.engine == "auto" and self.generative_configured)


def _parse(name: str, env: str, raw: str, kind: Any) -> Any:
    kind = str(kind)
    try:
        if "Path" in kind:
            return Path(raw).expanduser()
        if "Secret" in kind:
            return Secret(raw)
        if "bool" in kind:
            return raw.lower() in {"1", "true", "yes", "on"}
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
    except ValueError:
        raise ConfigError(
            f"{env} has the value {raw!r}, which is not a valid {kind}: fix it in .env"
        ) from None
    return raw


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting: the README's table and `.env.example`."""
    rows = []
    for f in fields(Settings):
        default = "" if f.default is MISSING else str(f.default)
        if f.name in ("seeds_dir", "vectorstore_dir"):
            default = f.name.removesuffix("_dir") + "/"
        if f.name == "cache_dir":
            default = "~/.cache/mali-qa"
        rows.append((f.metadata["env"], default, f.metadata["doc"]))
    return rows
