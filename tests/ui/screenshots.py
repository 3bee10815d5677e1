"""`make screenshots`: the inspector's main pages as PNGs in docs/, over freshly seeded
memories (an embedded PostgreSQL in a temporary folder, Debian's headless Chromium)."""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
from psycopg import sql
from rememberer.config import Settings
from rememberer.storage.embedded import EmbeddedPostgres
from rememberer.storage.migrate import upgrade
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.conftest import ServerThread, plain_url
from tests.ui import seeding
from tests.ui.browsing import open_page
from tests.ui.conftest import CHROMEDRIVER, chromium_path

DOCS = Path(__file__).resolve().parents[2] / "docs"
logger = logging.getLogger(__name__)


def start_chromium(profile: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_path() or "/usr/bin/chromium"
    for argument in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1280,900", "--hide-scrollbars", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def shoot(browser: webdriver.Chrome, url: str, name: str) -> None:
    open_page(browser, url)
    height = int(browser.execute_script("return document.documentElement.scrollHeight"))
    browser.set_window_size(1280, min(max(height, 600), 2400))
    open_page(browser, url)
    browser.save_screenshot(str(DOCS / f"ui-{name}.png"))
    logger.info("wrote docs/ui-%s.png", name)


def seed(api: httpx.Client) -> tuple[str, str]:
    learning, ranking = "agent-blocks", "agent-rooms"
    seeding.seed_learning(api, learning, episodes=80)
    seeding.seed_ranking(api, ranking)
    return learning, ranking


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    folder = Path(tempfile.mkdtemp(prefix="rememberer-shots-"))
    postgres = EmbeddedPostgres(folder / "pg")
    url = postgres.start()
    name = f"shots_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain_url(url), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database_url = url.replace(f"/{postgres.database}?", f"/{name}?", 1)
    upgrade(database_url)
    browser = start_chromium(str(folder / "profile"))
    try:
        with ServerThread(Settings(database_url=None), database_url) as server:
            with httpx.Client(base_url=server.url, timeout=60) as api:
                learning, ranking = seed(api)
                record = api.get(f"/v1/memories/{learning}/records").json()["items"][1]
            base = f"{server.url}/ui/memories"
            query = (
                f"task={quote(seeding.QUERY_TASK)}&observation={quote(seeding.QUERY_OBSERVATION)}"
            )
            shoot(browser, f"{server.url}/ui", "memories")
            shoot(browser, f"{base}/{learning}", "memory")
            shoot(browser, f"{base}/{learning}/records", "records")
            shoot(browser, f"{base}/{learning}/records/{record['record_id']}", "record")
            shoot(browser, f"{base}/{ranking}/retrieve?{query}&k=2&lambda=0.3", "retrieve")
            shoot(browser, f"{base}/{learning}/episode?id=episode-079", "episode")
    finally:
        browser.quit()
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
