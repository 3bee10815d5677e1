"""The inspector's fixtures: seeded memories on an open service and on one with keys, and a
headless Chromium (Debian's, through its chromedriver; nothing is downloaded)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from rememberer.config import Settings
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.conftest import ServerThread
from tests.ui import seeding

ADMIN_KEY = "ui-admin-key-0123456789"
REQUIRE_BROWSER = "REMEMBERER_REQUIRE_BROWSER"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMEDRIVER = "/usr/bin/chromedriver"


@dataclass(frozen=True)
class Seeded:
    ranking: str
    learning: str
    hostile: str
    empty: str


def seed_all(api: httpx.Client) -> Seeded:
    suffix = uuid.uuid4().hex[:8]
    seeded = Seeded(
        ranking=f"ui-ranking-{suffix}",
        learning=f"ui-learning-{suffix}",
        hostile=f"ui-hostile-{suffix}",
        empty=f"ui-empty-{suffix}",
    )
    seeding.seed_ranking(api, seeded.ranking)
    seeding.seed_learning(api, seeded.learning)
    seeding.seed_hostile(api, seeded.hostile)
    assert api.post("/v1/memories", json={"name": seeded.empty}).status_code == 201
    return seeded


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


def chromium_path() -> str | None:
    return next((path for path in CHROMIUM if os.path.exists(path)), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    """A headless Chromium; skipped where none is installed, unless REMEMBERER_REQUIRE_BROWSER
    is set (CI), where a missing browser fails the tests."""
    binary = chromium_path()
    if binary is None or not os.path.exists(CHROMEDRIVER):
        message = (
            "no Chromium with chromedriver installed (apt-get install chromium chromium-driver)"
        )
        if os.environ.get(REQUIRE_BROWSER):
            pytest.fail(f"{message}, and {REQUIRE_BROWSER} is set")
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    profile = tempfile.mkdtemp(prefix="rememberer-chromium-")
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
