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

from tests.support.http import ServerThread


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


def test_root_leads_to_the_inspector_which_links_the_docs_which_need_no_cdn(
    api: httpx.Client,
) -> None:
    root = api.get("/", follow_redirects=False)
    assert root.status_code in (302, 307) and root.headers["location"] == "/ui"
    assert 'href="/docs"' in api.get("/ui").text
    page = api.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "https://" not in page.text.split("<body>")[-1]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/docs/assets/{asset}" in page.text
        served = api.get(f"/docs/assets/{asset}")
        assert served.status_code == 200 and len(served.content) > 10_000
    assert api.get("/redoc").status_code == 404  # its scripts would come from a CDN


def error_message(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return str(body["error"]["message"])


def test_a_body_without_a_json_content_type_says_to_send_one(api: httpx.Client) -> None:
    sent = api.post(
        "/v1/memories",
        content=b'{"name": "x"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    message = error_message(sent, 422)
    assert "Content-Type: application/json" in message
    assert "application/x-www-form-urlencoded" in message


def test_malformed_json_says_where_and_what_to_send(api: httpx.Client) -> None:
    sent = api.post(
        "/v1/memories", content=b'{"name": x}', headers={"Content-Type": "application/json"}
    )
    message = error_message(sent, 422)
    assert "not valid JSON" in message and "character 9" in message
    assert "JSON decode error" not in message


def test_a_trailing_slash_is_a_404_naming_the_path_without_it(api: httpx.Client) -> None:
    sent = api.post("/v1/memories/", json={"name": "x"}, follow_redirects=False)
    message = error_message(sent, 404)
    assert "drop the trailing slash: /v1/memories" in message
    assert "trailing slash" not in error_message(api.get("/v1/nothing-here/"), 404)


DESCRIBED_MODELS = ("MemoryCreate", "RetrieveRequest", "Transition", "UpdateRequest")


def test_the_openapi_document_describes_operations_and_settings(api: httpx.Client) -> None:
    document = api.get("/openapi.json").json()
    bare = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if not operation.get("description")
    ]
    assert not bare, f"operations without a description: {bare}"
    schemas = document["components"]["schemas"]
    for name in DESCRIBED_MODELS:
        model = schemas.get(name) or schemas[f"{name}-Input"]
        missing = [f for f, spec in model["properties"].items() if not spec.get("description")]
        assert not missing, f"{name} fields without a description: {missing}"
