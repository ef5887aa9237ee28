"""The page in a real browser: `streamlit run app.py` on a free loopback port, driven by headless Chromium, in
light and dark mode: readable highlights (contrast from computed styles), [n] links that open their source
card, copy, thumbs, the conversation kept across a reload, the Articles table and no developer chrome.

Screenshots go to $MALI_QA_TEST_OUTPUT (default: the test's temp folder); with MALI_QA_SCREENSHOT_DIR=docs the
light and dark answer screenshots are also saved there as screenshot-light.png and screenshot-dark.png."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from servers import page_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
QUESTION = "When did France leave Mali?"
TWO_SOURCES = "Who are the Wagner Group in Mali?"
CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
MESSAGE = '[data-testid="stChatMessage"]'
AA = 4.5  # WCAG AA contrast for normal text

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver",
    ),
]


@pytest.fixture(scope="module")
def page(built_settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One page server for this module, on a copy of the test index (never the repo's vectorstore/ or seeds/),
    keeping its feedback in the temp folder. Yields (url, folder)."""
    work = tmp_path_factory.mktemp("page")
    seeds, store = work / "seeds", work / "vectorstore"
    shutil.copytree(built_settings.seeds_dir, seeds)
    shutil.copytree(built_settings.vectorstore_dir, store)
    saved = os.environ.get("MALI_QA_FEEDBACK_FILE")
    os.environ["MALI_QA_FEEDBACK_FILE"] = str(work / "feedback.jsonl")
    try:
        with page_server(seeds, store, work) as url:
            yield url, work
    finally:
        if saved is None:
            os.environ.pop("MALI_QA_FEEDBACK_FILE", None)
        else:
            os.environ["MALI_QA_FEEDBACK_FILE"] = saved


def output_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("MALI_QA_TEST_OUTPUT", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --------------------------------------------------------------------------- helpers


def wait(driver: Any, timeout: float = 90) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))


def open_page(driver: Any, url: str, scheme: str = "light") -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
    )
    driver.get(url)
    return wait(driver).until(ec.element_to_be_clickable((By.CSS_SELECTOR, CHAT_INPUT)))


IDLE = (
    "return document.querySelectorAll('[data-stale=\"true\"]').length === 0"
    " && document.querySelectorAll('[data-testid=\"stStatusWidget\"]').length === 0;"
)
# Records whether Streamlit's running indicator (developer chrome) was ever visible.
WATCH_STATUS = """
window.__statusSeen = 0; window.__statusVisible = 0;
new MutationObserver(() => {
  for (const el of document.querySelectorAll('[data-testid="stStatusWidget"]')) {
    window.__statusSeen += 1;
    if (getComputedStyle(el).visibility !== 'hidden') window.__statusVisible += 1;
  }
}).observe(document.body, {childList: true, subtree: true});
"""


def ask(driver: Any, question: str, *, sources: bool = True) -> Any:
    """Type `question`, press Enter, wait until its answer (with sources, or an abstention) is drawn and the
    script run is over; returns the answer's chat message."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    before = len(driver.find_elements(By.CSS_SELECTOR, MESSAGE))
    box = driver.find_element(By.CSS_SELECTOR, CHAT_INPUT)
    box.send_keys(question)
    box.send_keys(Keys.ENTER)

    def answered(d: Any) -> Any:
        messages = d.find_elements(By.CSS_SELECTOR, MESSAGE)
        if len(messages) < before + 2:
            return False
        text = messages[-1].text
        done = ("Sources" in text and "Copy answer" in text) if sources else "don't say" in text
        return done and d.execute_script(IDLE)

    wait(driver).until(answered)
    return driver.find_elements(By.CSS_SELECTOR, MESSAGE)[-1]


def rgb(value: str) -> tuple[float, float, float, float]:
    numbers = [float(x) for x in re.findall(r"[\d.]+", value)]
    return (numbers[0], numbers[1], numbers[2], numbers[3] if len(numbers) > 3 else 1.0)


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two opaque CSS colours ("rgb(r, g, b)")."""

    def luminance(color: str) -> float:
        channels = []
        for c in rgb(color)[:3]:
            s = c / 255
            channels.append(s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4)
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# The colours an element's text is drawn in, and over (its own background, else the nearest opaque one).
COLOURS = """
const el = arguments[0];
let bg = el, color = getComputedStyle(el).color;
while (bg && ['rgba(0, 0, 0, 0)', 'transparent'].includes(getComputedStyle(bg).backgroundColor)) bg = bg.parentElement;
return [color, bg ? getComputedStyle(bg).backgroundColor : 'rgb(255, 255, 255)'];
"""


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_answer_is_readable_in_light_and_dark(
    page: tuple[str, Path], browser: Any, tmp_path: Path, scheme: str
) -> None:
    from selenium.webdriver.common.by import By

    url, _ = page
    open_page(browser, url, scheme)
    assert "Try one of these" in browser.find_element(By.TAG_NAME, "body").text
    theme = browser.execute_script("return getComputedStyle(document.querySelector('.stApp')).colorScheme")
    assert theme == scheme  # Streamlit follows the system's scheme, and our colours follow Streamlit
    browser.execute_script(WATCH_STATUS)
    reply = ask(browser, QUESTION)
    assert QUESTION in browser.find_elements(By.CSS_SELECTOR, MESSAGE)[0].text
    assert not reply.find_elements(By.TAG_NAME, "script")  # no article or answer text rendered as markup

    marks = reply.find_elements(By.TAG_NAME, "mark")
    assert marks, "the quoted sentence is highlighted"
    for element in [*marks, *reply.find_elements(By.CSS_SELECTOR, "a.mq-cite")]:
        fg, bg = browser.execute_script(COLOURS, element)
        ratio = contrast(fg, bg)
        assert ratio >= AA, f"{scheme}: {element.tag_name} {fg} on {bg} is {ratio:.2f}:1, under {AA}:1"
    # no developer chrome: no Deploy button, and the running indicator never showed
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stAppDeployButton"]')
    assert browser.execute_script("return window.__statusVisible") == 0

    output = output_dir(tmp_path)
    shot = output / f"answer-{scheme}.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("MALI_QA_SCREENSHOT_DIR"):  # e.g. docs/, for the README
        folder = Path(os.environ["MALI_QA_SCREENSHOT_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, folder / f"screenshot-{scheme}.png")

    # the whole article opens with the passage marked in place
    summary = reply.find_element(By.XPATH, ".//summary[contains(., 'Read the whole article')]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
    summary.click()

    def article_open(driver: Any) -> Any:
        for block in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stExpanderDetails"]'):
            if block.is_displayed() and block.find_elements(By.TAG_NAME, "mark") and len(block.text) > 1000:
                return block
        return False

    article = wait(browser).until(article_open)
    assert "Mali" in article.text
    for mark in article.find_elements(By.TAG_NAME, "mark"):
        assert contrast(*browser.execute_script(COLOURS, mark)) >= AA
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", article)
    browser.save_screenshot(str(output / f"source-open-{scheme}.png"))


def test_markers_open_their_source_card_and_copy_the_answer(
    page: tuple[str, Path], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    url, _ = page
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    open_page(browser, url)
    reply = ask(browser, TWO_SOURCES)
    links = reply.find_elements(By.CSS_SELECTOR, "a.mq-cite")
    assert [link.text for link in links] == ["[1]", "[2]"]
    card = links[1].get_attribute("data-card")
    is_open = "return document.querySelector('.st-key-' + CSS.escape(arguments[0]) + ' details').open"
    assert browser.execute_script(is_open, card) is False  # source [2] starts closed
    browser.execute_script("window.scrollTo(0, 0)")
    links[1].click()

    def shown(driver: Any) -> bool:
        top = driver.execute_script(
            "return document.querySelector('.st-key-' + CSS.escape(arguments[0])).getBoundingClientRect().top",
            card,
        )
        return bool(driver.execute_script(is_open, card)) and 0 <= top < driver.execute_script(
            "return window.innerHeight"
        )

    wait(browser, 10).until(shown)  # opened, and scrolled into view
    browser.save_screenshot(str(output_dir(tmp_path) / "marker-opens-card.png"))

    button = reply.find_element(By.CSS_SELECTOR, "button.mq-copy")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()
    wait(browser, 10).until(lambda d: button.text == "Copied")
    copied = browser.execute_async_script(
        "const done = arguments[0]; navigator.clipboard.readText().then(done, (e) => done('failed: ' + e));"
    )
    answer_text = reply.find_element(By.CSS_SELECTOR, ".mq-answer").text
    # the copy holds the short answer (when there is one), the answer's text and its sources
    assert answer_text.split("[1]")[0].strip()[:60] in copied and "Sources:" in copied


def test_thumbs_reload_and_new_conversation(page: tuple[str, Path], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    url, work = page
    open_page(browser, url)
    reply = ask(browser, QUESTION)
    thumbs_up = reply.find_element(By.CSS_SELECTOR, 'button[aria-label="Thumbs up"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", thumbs_up)
    thumbs_up.click()
    feedback = work / "feedback.jsonl"

    def stored(_: Any) -> Any:
        if not feedback.exists():
            return False
        records = [json.loads(line) for line in feedback.read_text(encoding="utf-8").splitlines()]
        return next((r for r in records if r["question"] == QUESTION and r["rating"] == "up"), False)

    record = wait(browser, 20).until(stored)
    assert record["citations"] and record["answer"]

    assert "?c=" in browser.current_url
    browser.refresh()  # a reload keeps the conversation, and the rating
    wait(browser).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, MESSAGE)) == 2 and d.execute_script(IDLE)
    )
    up = browser.find_element(By.CSS_SELECTOR, 'button[aria-label="Thumbs up"]')
    assert up.get_attribute("aria-checked") == "true"

    # "New conversation" stays in view wherever the page is scrolled
    new = browser.find_element(By.CSS_SELECTOR, ".st-key-new-conversation button")
    for y in (0, 10_000):
        browser.execute_script(f"window.scrollTo(0, {y})")
        box = browser.execute_script("return arguments[0].getBoundingClientRect()", new)
        assert box["top"] >= 0 and box["bottom"] <= browser.execute_script("return window.innerHeight")
    new.click()
    wait(browser).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, MESSAGE) and "?c=" not in d.current_url
    )


def test_chat_box_caps_questions_and_fits_a_phone(
    page: tuple[str, Path], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _ = page
    browser.set_window_size(400, 900)
    try:
        box = open_page(browser, url)
        box.send_keys("x" * 1100)
        assert len(box.get_attribute("value")) == 1000  # MALI_QA_MAX_QUESTION_CHARS
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        # "New conversation" shrinks to its icon on a phone; the question box keeps the room
        assert browser.find_element(By.CSS_SELECTOR, '[data-testid="stChatInput"]').rect["width"] > 280
        assert (
            "New conversation" not in browser.find_element(By.CSS_SELECTOR, ".st-key-new-conversation").text
        )
        time.sleep(0.5)  # let the page settle for the picture
        browser.save_screenshot(str(output_dir(tmp_path) / "phone.png"))
    finally:
        browser.set_window_size(1280, 1400)


def test_articles_table_rows_open_the_article_and_evaluation_has_one_title(
    page: tuple[str, Path], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    url, _ = page
    browser.get(f"{url}/articles")
    table = wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]'))[0]
    wait(browser).until(lambda d: d.execute_script(IDLE))
    time.sleep(0.5)  # the grid draws its canvas
    rect = table.rect
    row, row_height, header = 2, 35, 35
    ActionChains(browser).move_to_element_with_offset(
        table, -rect["width"] / 2 + 150, -rect["height"] / 2 + header + row * row_height + row_height / 2
    ).click().perform()

    def opened(d: Any) -> Any:
        headings = d.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] h3')
        return headings[0].text if headings else False

    headline = wait(browser, 30).until(opened)
    assert headline == "Last French troops leave Mali, ending nine-year deployment"
    shown = browser.find_element(By.TAG_NAME, "body").text
    assert "date not given" not in shown and "002_07d3930ec7cbf04e" not in shown  # no placeholder, no raw id
    browser.save_screenshot(str(output_dir(tmp_path) / "articles.png"))

    browser.get(f"{url}/evaluation")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] h1'))
    wait(browser).until(lambda d: d.execute_script(IDLE))
    assert len(browser.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] h1')) == 1
