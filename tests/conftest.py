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
    from mali_qa.ingest.write import ingest

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


#: Fixtures that build the real index: a test using one is an integration test, marked as such.
INDEX_FIXTURES = {"built_settings", "messy", "corpus60", "small_store", "planted", "hostile_server"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INDEX_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _index_builds_only_in_integration_tests(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pytest -m "not integration"` stays fast: a test without the marker that builds an index fails."""
    if request.node.get_closest_marker("integration"):
        return
    from mali_qa.ingest import write

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("this test builds a real index: mark it @pytest.mark.integration")

    monkeypatch.setattr(write, "_sync", refuse)
