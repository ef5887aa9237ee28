"""The page under load and against hostile text, in a real browser: ten sessions at once keep answering,
and an article holding `<script>` shows it as text (loopback only, bounded in count and time)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from servers import page_server
from test_browser import CHROMEDRIVER, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="needs chromium and chromium-driver"
    ),
]

SESSIONS = 10
HOSTILE = (
    "Timbuktu traders reopen the salt market\n\n"
    "Traders in Timbuktu said the salt market reopened <script>window.__pwned = 1;</script> after the French "
    "soldiers left the city. The market sells salt slabs brought by camel from Taoudenni.\n"
)
CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
MESSAGE = '[data-testid="stChatMessage"]'


@pytest.fixture
def hostile_server(built_settings: Any, tmp_path: Path) -> Iterator[str]:
    """A page server on a copy of the test index plus one article with a <script> in its text."""
    from mali_qa.ingest.write import ingest

    seeds, store = tmp_path / "seeds", tmp_path / "vectorstore"
    shutil.copytree(built_settings.seeds_dir, seeds)
    shutil.copytree(built_settings.vectorstore_dir, store)
    (seeds / "zz_hostile.txt").write_text(HOSTILE, encoding="utf-8")
    report = ingest(built_settings.with_(seeds_dir=seeds, vectorstore_dir=store))
    assert report.added == ["zz_hostile"]
    with page_server(seeds, store, tmp_path) as url:
        yield url


def _ask(driver: Any, question: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    box = WebDriverWait(driver, 90).until(ec.element_to_be_clickable((By.CSS_SELECTOR, CHAT_INPUT)))
    box.send_keys(question)
    box.send_keys(Keys.ENTER)


def _answer_text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    messages = driver.find_elements(By.CSS_SELECTOR, MESSAGE)
    if len(messages) < 2:
        return ""
    text = str(messages[-1].text)
    finished = ("Sources", "don't say", "Not sure")  # an answer, the abstention, or the closest passages
    return text if any(mark in text for mark in finished) else ""


def test_script_in_an_article_shows_as_text(hostile_server: str, browser: Any) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(hostile_server)
    _ask(browser, "What did traders in Timbuktu say about the salt market?")
    wait = WebDriverWait(browser, 90, ignored_exceptions=(StaleElementReferenceException,))
    text = wait.until(lambda d: _answer_text(d) if "<script>" in _answer_text(d) else False)
    assert "window.__pwned" in text  # shown as text ...
    assert browser.execute_script("return typeof window.__pwned") == "undefined"  # ... never run
    scripts = browser.execute_script(
        "return Array.from(document.querySelectorAll('script')).filter(s => s.text.includes('__pwned')).length"
    )
    assert scripts == 0
    # the copy button holds the same text as an attribute value, never as markup
    from selenium.webdriver.common.by import By

    # the actions row is drawn after the answer's text and sources: wait for it rather than race it
    buttons = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "button.mq-copy"))
    held = buttons[-1].get_attribute("data-copy")
    assert "<script>window.__pwned = 1;</script>" in held


def test_ten_sessions_at_once_keep_answering(hostile_server: str, browser: Any) -> None:
    questions = [
        "When did France leave Mali?",
        "How many French soldiers were killed in Mali?",
        "Who controlled the Wagner Group?",
        "Why are Russian soldiers in Timbuktu?",
        "Who won the 2022 FIFA World Cup?",
    ]
    handles = []
    for i in range(SESSIONS):  # ten tabs: ten Streamlit sessions on one server
        if i:
            browser.switch_to.new_window("tab")
        browser.get(hostile_server)
        handles.append(browser.current_window_handle)
    for i, handle in enumerate(handles):  # every session asks before any answer is awaited
        browser.switch_to.window(handle)
        _ask(browser, questions[i % len(questions)])
    deadline = time.monotonic() + 180
    pending = dict(enumerate(handles))
    while pending and time.monotonic() < deadline:
        for i, handle in list(pending.items()):
            browser.switch_to.window(handle)
            text = _answer_text(browser)
            if text:
                assert "Traceback" not in text
                del pending[i]
        time.sleep(0.5)
    assert not pending, f"{len(pending)} of {SESSIONS} sessions had no answer after 180 s"
