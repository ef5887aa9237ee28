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

from test_browser import CHROMEDRIVER, CHROMIUM, output_dir, wait
from test_server import Server, start_server

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
