"""The package's exceptions: one base class, a few subclasses, each message naming the fix."""

from __future__ import annotations


class MaliQAError(Exception):
    """Base class of every error mali-qa raises on purpose; the message says what to do."""


class InvalidQuestionError(MaliQAError, ValueError):
    """The question is empty, too long, or not a string."""


class ConfigError(MaliQAError):
    """A setting in the environment or `.env` has a value mali-qa cannot use."""


class IndexUnavailableError(MaliQAError):
    """The index in `vectorstore/` (or the Chroma server) is missing, corrupted or incompatible."""


class IngestError(MaliQAError):
    """Articles could not be read or indexed."""


class IngestLockedError(IngestError):
    """Another ingest holds the index lock."""


class ModelError(MaliQAError):
    """The OpenAI-compatible model failed (wrong key, unreachable server, bad reply)."""
