"""The page in a real browser: `streamlit run app.py` on a free port, driven by headless Chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from servers import page_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
QUESTION = "When did France leave Mali?"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver",
    ),
]


@pytest.fixture
def server(built_settings: Any, tmp_path: Path) -> Iterator[str]:
    """A page server on a copy of the test index (never the repo's vectorstore/ or seeds/)."""
    seeds, store = tmp_path / "seeds", tmp_path / "vectorstore"
    shutil.copytree(built_settings.seeds_dir, seeds)
    shutil.copytree(built_settings.vectorstore_dir, store)
    with page_server(seeds, store, tmp_path) as url:
        yield url


def output_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("MALI_QA_TEST_OUTPUT", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_question_answer_and_source_in_a_real_browser(server: str, browser: Any, tmp_path: Path) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 60, ignored_exceptions=(StaleElementReferenceException,))
    browser.get(server)
    box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="stChatInputTextArea"]')))
    assert "Try one of these" in browser.find_element(By.TAG_NAME, "body").text
    box.send_keys(QUESTION)
    box.send_keys(Keys.ENTER)

    def answered(driver: Any) -> Any:
        messages = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"]')
        if len(messages) < 2:
            return False
        text = messages[-1].text
        if "Sources" not in text or "[1]" not in text or "Read the whole article of source [1]" not in text:
            return False
        return messages[-1] if messages[-1].find_elements(By.TAG_NAME, "mark") else False

    reply = wait.until(answered)
    assert QUESTION in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"]')[0].text
    # Nothing the page shows is rendered from article text as HTML: no <script> in the chat at all.
    assert not reply.find_elements(By.TAG_NAME, "script")
    idle = (
        "return document.querySelectorAll('[data-stale=\"true\"]').length === 0"
        " && document.querySelectorAll('[data-testid=\"stStatusWidget\"]').length === 0;"
    )
    wait.until(lambda driver: driver.execute_script(idle))  # the run is over: nothing stale on screen
    reply = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"]')[-1]
    output = output_dir(tmp_path)
    browser.save_screenshot(str(output / "answer.png"))
    if os.environ.get("MALI_QA_SCREENSHOT"):  # e.g. docs/screenshot.png, for the README
        browser.save_screenshot(os.environ["MALI_QA_SCREENSHOT"])

    summary = reply.find_element(By.XPATH, ".//summary[contains(., 'Read the whole article of source [1]')]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
    summary.click()

    def article_open(driver: Any) -> Any:
        details = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stExpanderDetails"]')
        for block in details:
            if block.is_displayed() and block.find_elements(By.TAG_NAME, "mark") and len(block.text) > 1000:
                return block
        return False

    article = wait.until(article_open)
    assert "Mali" in article.text
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", article)
    browser.save_screenshot(str(output / "source-open.png"))
    assert (output / "source-open.png").stat().st_size > 10_000
