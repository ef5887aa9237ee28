"""Shared fixtures: the seed articles, and a real index built once per test session in a temporary folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

# Tests never read the developer's .env, never reach a model server unless they start one themselves.
for _var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MALI_QA_ENGINE", "CHROMA_HOST", "MALI_QA_EMBEDDINGS"):
    os.environ.pop(_var, None)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return ROOT / "seeds"


@pytest.fixture(scope="session")
def built_settings(tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path) -> Iterator[object]:
    """Settings whose index (real bundled model, real Chroma) is built from the seeds in a temp folder."""
    from mali_qa.config import Settings
    from mali_qa.index import ingest

    store = tmp_path_factory.mktemp("vectorstore")
    settings = Settings.from_env(env_file=os.devnull, seeds_dir=seeds_dir, vectorstore_dir=store)
    ingest(settings)
    yield settings
