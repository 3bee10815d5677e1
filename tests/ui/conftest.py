"""The inspector's fixtures: seeded memories on an open service and on one with keys, and a
headless Chromium (tests.support.browser)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import httpx
import pytest
from rememberer.config import Settings
from selenium.webdriver.remote.webdriver import WebDriver

from tests.support.browser import REQUIRE_BROWSER, chromium_path, start_chromium
from tests.support.http import ServerThread
from tests.support.ui_seeding import ADMIN_KEY, Seeded, seed_all


@pytest.fixture(scope="session")
def seeded(server: ServerThread) -> Seeded:
    with httpx.Client(base_url=server.url, timeout=60) as api:
        return seed_all(api)


@pytest.fixture(scope="session")
def keyed_server(database_url: str) -> Iterator[ServerThread]:
    settings = Settings(database_url=None, db_pool_size=5, admin_key=ADMIN_KEY)
    with ServerThread(settings, database_url) as running:
        yield running


@pytest.fixture(scope="session")
def admin_api(keyed_server: ServerThread) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=keyed_server.url, timeout=60, headers=headers) as client:
        yield client


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    """A headless Chromium; skipped where none is installed, unless REMEMBERER_REQUIRE_BROWSER
    is set (CI), where a missing browser fails the tests."""
    binary = chromium_path()
    if binary is None:
        message = (
            "no Chromium with chromedriver installed (apt-get install chromium chromium-driver)"
        )
        if os.environ.get(REQUIRE_BROWSER):
            pytest.fail(f"{message}, and {REQUIRE_BROWSER} is set")
        pytest.skip(message)
    profile = tempfile.mkdtemp(prefix="rememberer-chromium-")
    driver = start_chromium(binary, profile)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
