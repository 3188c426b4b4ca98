"""Browser tests: Debian's Chromium driven by Playwright (no browser download) against a
running chain (`console_world.py`). One world and one browser per test session; every
test has its own browser context (its own cookies)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.fixtures.mosquitto import start_mosquitto
from tests.ui.console_world import ConsoleWorld

CHROMIUM = "/usr/bin/chromium"
# The machine's network is closed: no background fetches, no first-run work, no sandbox
# (the tests may run as root).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1000, "height": 800}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One xdist worker runs every browser test: they share the world and the browser.
    for item in items:
        if "tests/ui/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.xdist_group("browser"))
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    directory = tmp_path_factory.mktemp("console")
    broker = start_mosquitto(directory / "mosquitto")
    world = ConsoleWorld(directory=directory, broker_url=broker.url)
    try:
        world.start()
        yield world
    finally:
        world.stop()
        broker.stop()


# Package-scoped, not session-scoped: Playwright's sync API keeps an event loop marked
# running in this thread while it is open, and any async test that ran after the browser
# tests on the same worker (tests/workers sorts after tests/ui) failed to start its loop.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-packages (Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(30_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
