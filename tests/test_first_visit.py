"""What a person meets first: / leads to the docs, the docs work offline, /readyz waits for
the embedder."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from rememberer.config import Settings
from rememberer.embedding.embedder import SentenceEmbedder

from tests.conftest import ServerThread


@pytest.fixture(scope="module")
def slow_embedder_server(database_url: str) -> Iterator[tuple[ServerThread, threading.Event]]:
    """A service whose embedder takes until the test releases it to load."""
    release = threading.Event()
    original = SentenceEmbedder.load

    def held_load(self: SentenceEmbedder) -> object:
        assert release.wait(120), "never released"
        return original(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SentenceEmbedder, "load", held_load)
        with ServerThread(Settings(database_url=None, db_pool_size=2), database_url) as running:
            yield running, release
            release.set()


def test_readiness_waits_for_the_embedder(
    slow_embedder_server: tuple[ServerThread, threading.Event],
) -> None:
    server, release = slow_embedder_server
    with httpx.Client(base_url=server.url, timeout=30) as client:
        waiting = client.get("/readyz")
        assert waiting.status_code == 503
        assert waiting.json() == {"status": "embedder loading"}
        assert client.get("/healthz").status_code == 200  # alive all the same
        release.set()
        deadline = time.monotonic() + 120
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.1)
        assert client.get("/readyz").json() == {"status": "ready"}


def test_root_leads_to_the_docs_which_need_no_cdn(api: httpx.Client) -> None:
    root = api.get("/", follow_redirects=False)
    assert root.status_code in (302, 307) and root.headers["location"] == "/docs"
    page = api.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "https://" not in page.text.split("<body>")[-1]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/docs/assets/{asset}" in page.text
        served = api.get(f"/docs/assets/{asset}")
        assert served.status_code == 200 and len(served.content) > 10_000
    assert api.get("/redoc").status_code == 404  # its scripts would come from a CDN
