"""Shared fixtures: the seed articles, and a real index built once per test session in a temporary folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Debian Chromium driven by Selenium, with a fresh profile and no background networking."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,1400",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()
