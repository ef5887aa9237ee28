"""mali-qa: question answering with cited passages over news articles about Russia in Mali.

The names below load on first use (PEP 562), so that importing a light module (`mali_qa.text`) does not
import chromadb and llama-index."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mali_qa.config import Settings
    from mali_qa.errors import (
        ConfigError,
        IndexUnavailableError,
        IngestError,
        IngestLockedError,
        InvalidQuestionError,
        MaliQAError,
        ModelError,
    )
    from mali_qa.service import ask, ask_stream
    from mali_qa.sources import source_label
    from mali_qa.types import (
        CLOSEST_PASSAGES,
        DIFFERING_FIGURES,
        NO_ANSWER,
        Answer,
        Article,
        Citation,
        Passage,
    )

#: Public name -> the module that defines it.
_EXPORTS = {
    "ask": "mali_qa.service",
    "ask_stream": "mali_qa.service",
    "Settings": "mali_qa.config",
    "NO_ANSWER": "mali_qa.types",
    "CLOSEST_PASSAGES": "mali_qa.types",
    "DIFFERING_FIGURES": "mali_qa.types",
    "Answer": "mali_qa.types",
    "Article": "mali_qa.types",
    "Citation": "mali_qa.types",
    "Passage": "mali_qa.types",
    "source_label": "mali_qa.sources",
    **{
        name: "mali_qa.errors"
        for name in (
            "ConfigError",
            "IndexUnavailableError",
            "IngestError",
            "IngestLockedError",
            "InvalidQuestionError",
            "MaliQAError",
            "ModelError",
        )
    },
}

__all__ = [
    "CLOSEST_PASSAGES",
    "DIFFERING_FIGURES",
    "NO_ANSWER",
    "Answer",
    "Article",
    "Citation",
    "ConfigError",
    "IndexUnavailableError",
    "IngestError",
    "IngestLockedError",
    "InvalidQuestionError",
    "MaliQAError",
    "ModelError",
    "Passage",
    "Settings",
    "ask",
    "ask_stream",
    "source_label",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mali_qa' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
