"""`make screenshots`: the inspector's main pages as PNGs in docs/, over freshly seeded
memories (an embedded PostgreSQL in a temporary folder, Debian's headless Chromium)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import httpx
from rememberer.config import Settings
from rememberer.storage.embedded import EmbeddedPostgres
from selenium import webdriver

from tests.support import ui_seeding as seeding
from tests.support.browser import chromium_path, open_page, start_chromium
from tests.support.database import migrated_database
from tests.support.http import ServerThread

DOCS = Path(__file__).resolve().parents[2] / "docs"
logger = logging.getLogger(__name__)


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
    _, database_url = migrated_database(postgres, "shots")
    binary = chromium_path()
    if binary is None:
        raise SystemExit(
            "needs Chromium and chromedriver: apt-get install chromium chromium-driver"
        )
    browser = start_chromium(binary, str(folder / "profile"), height=900)
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
