"""mali-qa: question answering with cited passages over news articles about Russia in Mali."""

from .api import ask, ask_stream
from .config import Settings
from .errors import (
    ConfigError,
    IndexUnavailableError,
    IngestError,
    IngestLockedError,
    InvalidQuestionError,
    MaliQAError,
    ModelError,
)
from .types import NO_ANSWER, Answer, Article, Citation, Passage

__all__ = [
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
]
