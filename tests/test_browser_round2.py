"""The page and the service in a real browser, second round (issue 28): new answers and opened source cards stand
fully in view above the question box (light and dark), conversations survive a server restart and stay with
the browser that made them, and the service's /docs renders its operations with no network.

Screenshots go to $MALI_QA_TEST_OUTPUT (default: the test's temp folder), never into the repository."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_browser import (
    CHROMEDRIVER,
    CHROMIUM,
    MESSAGE,
    QUESTION,
    TWO_SOURCES,
    ask,
    open_page,
    output_dir,
    page,
    wait,
)
from test_server import Server, start_server

__all__ = ["page"]  # the page-server fixture, shared with test_browser.py
WORLD_CUP = "Who won the 2022 FIFA World Cup?"  # declined, then suggestions follow
#: An element's box against the room a reader sees: below the header, above the question box.
GEOMETRY = """
const box = arguments[0].getBoundingClientRect();
const header = document.querySelector('[data-testid="stHeader"]');
const input = document.querySelector('[data-testid="stBottom"]');
return {top: box.top, bottom: box.bottom, height: box.height,
        room_top: header ? Math.max(0, header.getBoundingClientRect().bottom) : 0,
        input_top: input ? input.getBoundingClientRect().top : window.innerHeight,
        window: window.innerHeight};
"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver",
    ),
]


@pytest.fixture(scope="module")
def service(built_settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(
        built_settings,
        tmp_path_factory.mktemp("serve-docs"),
        MALI_QA_ENGINE="offline",
        MALI_QA_SERVER_TOKEN=secrets.token_urlsafe(24),
    )


def test_service_docs_render_their_operations_with_no_network(
    service: Server, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Network.enable", {})
    # the network off: anything but this loopback service is refused (the machine has none anyway)
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*", "*cdn*", "*unpkg*", "*.com/*"]})
    browser.get(f"{service.url}/docs")

    def operations(d: Any) -> Any:
        body = d.find_element(By.TAG_NAME, "body").text
        return "/v1/chat/completions" in body and "/v1/ask" in body and body

    body = wait(browser, 30).until(operations)
    assert "/v1/articles" in body and "mali-qa" in body
    resources = browser.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
    assert resources and all(name.startswith(service.url) for name in resources), resources
    browser.save_screenshot(str(output_dir(tmp_path) / "service-docs.png"))


def in_view(driver: Any, element: Any) -> dict[str, float] | None:
    """The element's geometry when it stands whole between the header and the question box (one taller than
    that room: its top at the top of the room), else None."""
    g = driver.execute_script(GEOMETRY, element)
    room = g["input_top"] - g["room_top"]
    assert g["input_top"] < g["window"], "the question box is at the bottom of the window"
    if g["height"] <= room:
        fits = g["top"] >= g["room_top"] - 1 and g["bottom"] <= g["input_top"] + 1
    else:
        fits = abs(g["top"] - g["room_top"]) <= 12
    return g if fits else None


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_new_answers_and_opened_cards_stand_in_view_above_the_question_box(
    page: tuple[str, Path], browser: Any, tmp_path: Path, scheme: str
) -> None:
    from selenium.webdriver.common.by import By

    url, _ = page
    open_page(browser, url, scheme)
    shots = output_dir(tmp_path)
    for step, (question, answered) in enumerate(
        [(QUESTION, True), (WORLD_CUP, False), (TWO_SOURCES, True)], 1
    ):
        reply = ask(browser, question, sources=answered)
        if not answered:  # the suggestions that follow a decline are part of the reply
            wait(browser, 30).until(
                lambda d: "The articles do cover these" in d.find_elements(By.CSS_SELECTOR, MESSAGE)[-1].text
            )
            reply = browser.find_elements(By.CSS_SELECTOR, MESSAGE)[-1]
        geometry = wait(browser, 3).until(lambda d: in_view(d, d.find_elements(By.CSS_SELECTOR, MESSAGE)[-1]))
        assert geometry, f"{scheme} step {step}: the newest answer is out of view"
        browser.save_screenshot(str(shots / f"{scheme}-{step}-answer.png"))
        if not answered:
            continue
        links = reply.find_elements(By.CSS_SELECTOR, "a.mq-cite")
        link = links[-1]
        card = link.get_attribute("data-card")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", link)
        link.click()
        selector = ".st-key-" + card.replace("-", "\\-")

        def card_shown(d: Any, card: str = card) -> Any:
            element = d.execute_script(
                "return document.querySelector('.st-key-' + CSS.escape(arguments[0]))", card
            )
            opened = d.execute_script("return arguments[0].querySelector('details').open", element)
            return opened and in_view(d, element)

        assert wait(browser, 3).until(card_shown), f"{scheme} step {step}: source card {selector} hidden"
        browser.save_screenshot(str(shots / f"{scheme}-{step}-card.png"))
