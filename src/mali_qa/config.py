"""The one settings object, read from the environment and `.env` (python-dotenv) in one place."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AliasGenerator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from mali_qa.errors import ConfigError

#: The question each face asks once at start-up to load the index and warm the model (the page, the HTTP
#: service, `mali-qa eval`), and the loader's probe of a freshly loaded BM25 index.
WARM_UP_QUESTION = "What are these articles about?"
#: OpenAI's own API, when no OPENAI_BASE_URL is set.
OPENAI_API_BASE = "https://api.openai.com/v1"


def project_root() -> Path:
    """The checkout holding `seeds/` (editable install), else the current folder."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


class Settings(BaseSettings):
    """Every knob of mali-qa; `Settings.from_env()` fills it from the environment and `.env`."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        case_sensitive=True,
        alias_generator=AliasGenerator(validation_alias=lambda name: f"MALI_QA_{name.upper()}"),
        env_file=project_root() / ".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
    )

    seeds_dir: Path = Field(
        default_factory=lambda: project_root() / "seeds",
        description="Folder of article files (.txt, .md, .html) to index",
    )
    vectorstore_dir: Path = Field(
        default_factory=lambda: project_root() / "vectorstore",
        description="Folder of the local index (Chroma, BM25, articles, manifest)",
    )
    collection: str = Field(default="mali_qa", description="Chroma collection name")
    top_k: int = Field(default=14, ge=1, le=50, description="Passages retrieved per question (1-50)")
    max_question_chars: int = Field(
        default=1000, ge=10, le=100_000, description="Longest question accepted, in characters"
    )
    engine: Literal["auto", "offline", "openai"] = Field(
        default="auto",
        description="Answer engine: auto (openai when a key or base URL is set), offline, openai",
    )
    offline_engine: Literal["learned", "rules"] = Field(
        default="learned",
        description="Offline engine: learned (fitted ranker and answer decision) or rules (hand-set scoring)",
    )
    embeddings: Literal["local", "openai"] = Field(
        default="local", description="Embedding model: local (bundled all-MiniLM-L6-v2) or openai"
    )
    openai_embed_model: str = Field(
        default="text-embedding-3-small", description="OpenAI embedding model when MALI_QA_EMBEDDINGS=openai"
    )
    openai_api_key: SecretStr = Field(
        default=SecretStr(""),
        validation_alias="OPENAI_API_KEY",
        description="OpenAI API key (secret; never logged or shown)",
    )
    openai_base_url: str = Field(
        default="",
        validation_alias="OPENAI_BASE_URL",
        description="Base URL of any OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1",
    )
    chat_model: str = Field(default="gpt-4.1-mini", description="Chat model used by the generative engine")
    temperature: float = Field(
        default=0.0, ge=0, le=2, description="Sampling temperature of the chat model (0-2)"
    )
    timeout: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds the user waits for a model's first words, retries included (the whole reply: twice that)",
    )
    max_retries: int = Field(
        default=2,
        ge=0,
        le=20,
        description="Retries of a failed model request, with backoff, within the timeout",
    )
    chroma_host: str = Field(
        default="",
        validation_alias="CHROMA_HOST",
        description="Chroma server host; empty keeps the index in vectorstore/",
    )
    chroma_port: int = Field(
        default=8000, ge=1, le=65535, validation_alias="CHROMA_PORT", description="Chroma server port"
    )
    memory_vectors: int = Field(
        default=20_000,
        ge=0,
        le=10_000_000,
        description="An index of at most this many vectors (passages and sentences) is searched exactly in "
        "memory; a larger one through Chroma at every question (0: always Chroma)",
    )
    cache_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "mali-qa",
        description="Where the ONNX export of the bundled model is kept (made once)",
    )
    embed_threads: int = Field(
        default=2, ge=1, le=256, description="CPU threads of the local embedding model"
    )
    debug: bool = Field(default=False, description="Show full tracebacks instead of one-line errors")
    admin: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Page controls that change the index (re-ingest, upload): auto (on only when the page "
        "listens on loopback), on, off",
    )
    feedback_file: Path = Field(
        default_factory=lambda: project_root() / "feedback" / "feedback.jsonl",
        description="JSONL file where the page keeps thumbs up/down with the question, answer and citations",
    )
    conversations_dir: Path = Field(
        default_factory=lambda: project_root() / "conversations",
        description="Folder where the page keeps its conversations (conversations.sqlite3, SQLite), each "
        "readable only by the browser that made it",
    )
    eval_report_dir: Path = Field(
        default_factory=lambda: project_root() / "eval" / "report",
        description="Folder the page reads the evaluation report from (written by `mali-qa eval`)",
    )
    server_token: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer token `mali-qa serve` requires (secret; required when it listens beyond loopback)",
    )
    server_max_concurrent: int = Field(
        default=4, ge=1, le=256, description="Answers `mali-qa serve` computes at once; more get 429"
    )
    server_max_body_bytes: int = Field(
        default=1_000_000,
        ge=1_000,
        le=100_000_000,
        description="Largest request body `mali-qa serve` accepts, in bytes",
    )
    server_cors_origins: str = Field(
        default="", description="Comma-separated origins allowed to call `mali-qa serve` from a browser"
    )
    server_allowed_hosts: str = Field(
        default="",
        description="Comma-separated Host names `mali-qa serve` answers besides loopback ones (localhost, "
        "127.0.0.1, [::1]); * for any. Empty: loopback only without a token, any name with one",
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _config_error(exc) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The arguments, then the environment, then `.env`: only mali-qa's variables, stripped, blank = unset."""
        return init_settings, _Known(env_settings), _Known(dotenv_settings)

    @classmethod
    def from_env(cls, env_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
        """Read `.env` (without overriding the real environment), then the environment, then overrides."""
        return cls(_env_file=Path(env_file) if env_file else project_root() / ".env", **overrides)

    def with_(self, **changes: Any) -> Settings:
        """A validated copy with `changes` (field names) applied."""
        return type(self)(_env_file=None, **{**{name: getattr(self, name) for name in _ENV}, **changes})

    @field_validator(
        "seeds_dir", "vectorstore_dir", "cache_dir", "eval_report_dir", "feedback_file", "conversations_dir"
    )
    @classmethod
    def _expand_home(cls, path: Path) -> Path:
        return path.expanduser()

    @model_validator(mode="after")
    def _check_engine(self) -> Settings:
        if self.engine == "openai" and not self.generative_configured:
            raise ConfigError(
                "MALI_QA_ENGINE=openai needs OPENAI_API_KEY or OPENAI_BASE_URL "
                "(or set MALI_QA_ENGINE=auto or offline): fix it in .env"
            )
        return self

    @property
    def generative_configured(self) -> bool:
        return bool(self.openai_api_key.get_secret_value()) or bool(self.openai_base_url)

    @property
    def use_generative(self) -> bool:
        return self.engine == "openai" or (self.engine == "auto" and self.generative_configured)


#: Field name -> environment variable, for every setting.
_ENV: dict[str, str] = {name: str(info.validation_alias) for name, info in Settings.model_fields.items()}
_SHOWN_DEFAULTS = {
    "seeds_dir": "seeds/",
    "vectorstore_dir": "vectorstore/",
    "cache_dir": "~/.cache/mali-qa",
    "eval_report_dir": "eval/report/",
    "feedback_file": "feedback/feedback.jsonl",
    "conversations_dir": "conversations/",
}
_BOUNDS = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
_KINDS = {"int": "a whole number", "float": "a valid number", "bool": "true or false", "path": "a valid path"}


class _Known(PydanticBaseSettingsSource):
    """Another source, keeping only mali-qa's variables (`.env` may hold others), stripped, blank ones dropped."""

    def __init__(self, inner: PydanticBaseSettingsSource) -> None:
        super().__init__(inner.settings_cls)
        self.inner = inner

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ delegates to the inner source

    def __call__(self) -> dict[str, Any]:
        values = {
            key: value.strip() if isinstance(value, str) else value for key, value in self.inner().items()
        }
        known = set(_ENV) | set(_ENV.values())
        kept = {key: value for key, value in values.items() if key in known and value not in ("", None)}
        for key, value in kept.items():
            if isinstance(value, str) and not _is_text(value):
                raise ConfigError(
                    f"{_ENV.get(key, key)} holds control characters or bytes that are not UTF-8: "
                    "fix it in .env or the environment"
                )
        return kept


def _is_text(value: str) -> bool:
    """Whether a setting's value is plain text: no control character and no lone surrogate (the form a
    byte that is not UTF-8 takes in Python's view of the environment)."""
    return not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value)


def _config_error(exc: ValidationError) -> ConfigError:
    """A ValidationError as a ConfigError whose message names each bad variable and the fix."""
    return ConfigError("; ".join(_problem(error) for error in exc.errors()))


def _problem(error: ErrorDetails) -> str:
    key = str(error["loc"][0]) if error["loc"] else ""
    name = next((name for name, env in _ENV.items() if key in (name, env)), None)
    if name is None:
        return f"{key} is not a mali-qa setting (they are listed in .env.example)"
    env, kind, info = _ENV[name], error["type"].split("_")[0], Settings.model_fields[name]
    shown = "(hidden)" if info.annotation is SecretStr else repr(error.get("input"))
    if kind in ("greater", "less"):
        bound = {a: getattr(m, a) for m in info.metadata for a in _BOUNDS if hasattr(m, a)}
        if "ge" in bound and "le" in bound:
            return f"{env} must be between {bound['ge']} and {bound['le']}, got {shown}: fix it in .env"
        wanted = " and ".join(f"{_BOUNDS[a]} {value}" for a, value in bound.items())
        return f"{env} must be {wanted}, got {shown}: fix it in .env"
    if kind == "literal":
        *first, last = get_args(info.annotation)
        return f"{env} must be {', '.join(first)} or {last}, got {shown}: fix it in .env"
    what = _KINDS.get(kind, f"valid ({error['msg']})")
    return f"{env} has the value {shown}, which is not {what}: fix it in .env"


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting: the README's table and `.env.example`."""
    rows = []
    for name, info in Settings.model_fields.items():
        default = (
            info.default.get_secret_value() if isinstance(info.default, SecretStr) else str(info.default)
        )
        rows.append((_ENV[name], _SHOWN_DEFAULTS.get(name, default), info.description or ""))
    return rows


def server_label(settings: Settings) -> str:
    """Where the model lives, for messages: scheme, host and port only (never credentials or paths)."""
    parts = urlsplit(settings.openai_base_url or OPENAI_API_BASE)
    host = parts.hostname or "?"
    try:
        port = parts.port
    except ValueError:  # a port that is no number: the host alone
        port = None
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + (f":{port}" if port else "")
