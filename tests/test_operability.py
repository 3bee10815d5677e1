"""Request ids, Prometheus metrics and the JSON log format, against the real server."""

from __future__ import annotations

import json
import logging
import sys

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from rememberer.app import create_app
from rememberer.config import Settings
from rememberer.observability import REQUEST_ID, JsonFormatter, RequestIdFilter

from tests.support.http import ServerThread
from tests.support.memories import client_memory, step, update

UPDATE_ROUTE = "/v1/memories/{memory}/update"


def samples(api: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    snapshot: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return snapshot.get((name, frozenset(labels.items())), 0.0)


def test_request_id_is_echoed_or_made(api: httpx.Client) -> None:
    given = api.get("/healthz", headers={"X-Request-ID": "agent-7.step-3"})
    assert given.headers["x-request-id"] == "agent-7.step-3"
    made = api.get("/healthz").headers["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0
    for unsafe in ("a" * 129, "has space", 'quote"'):
        replaced = api.get("/healthz", headers={"X-Request-ID": unsafe}).headers["x-request-id"]
        assert replaced != unsafe and len(replaced) == 32
    # Errors carry one too, a 413 answered before the app included.
    too_large = api.post("/v1/memories", content=b" " * (8 * 1024 * 1024 + 1))
    assert too_large.status_code == 413 and too_large.headers["x-request-id"]


def test_metrics_count_requests_updates_and_retrievals(api: httpx.Client, memory_name: str) -> None:
    client_memory(api, memory_name)
    before = samples(api)
    steps = [step(0, "a", "go", 0.0, "b"), step(1, "b", "go", 1.0, "c", True)]
    assert update(api, memory_name, "e", *steps).status_code == 200
    assert update(api, memory_name, "e", *steps).status_code == 200  # a retry: applies nothing
    assert update(api, memory_name, "f", step(5, "a", "go", 0.0, "b")).status_code == 409
    body = {"task": "task", "observation": "a"}
    assert api.post(f"/v1/memories/{memory_name}/retrieve", json=body).status_code == 200
    after = samples(api)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"method": "POST", "route": UPDATE_ROUTE, "status": "200"}
    assert grew("rememberer_http_requests_total", **ok) == 2
    assert grew("rememberer_http_requests_total", **{**ok, "status": "409"}) == 1
    latency = {"method": "POST", "route": UPDATE_ROUTE}
    assert grew("rememberer_http_request_duration_seconds_count", **latency) == 3
    assert grew("rememberer_transitions_applied_total") == 2
    assert grew("rememberer_action_value_updates_total") == 2
    assert grew("rememberer_retrieval_duration_seconds_count") == 1
    # The path's memory name never becomes a label: routes are templates.
    assert memory_name not in api.get("/metrics").text


def test_embedding_cache_hits_are_counted(api: httpx.Client, memory_name: str) -> None:
    assert api.post("/v1/memories", json={"name": memory_name}).status_code == 201
    body = {"task": f"task {memory_name}", "observation": f"page {memory_name}"}
    path = f"/v1/memories/{memory_name}/retrieve"
    before = samples(api)
    assert api.post(path, json=body).status_code == 200  # two new texts: encoded
    middle = samples(api)
    assert api.post(path, json=body).status_code == 200  # the same two: from the cache
    after = samples(api)
    misses, hits = (
        "rememberer_embedding_cache_misses_total",
        "rememberer_embedding_cache_hits_total",
    )
    assert value(middle, misses) - value(before, misses) == 2
    assert value(after, hits) - value(middle, hits) == 2


def test_json_log_lines_carry_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("rememberer.test")
    log.addHandler(handler)
    token = REQUEST_ID.set("req-1")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            log.error("failed for %s", "x", exc_info=True)
    finally:
        REQUEST_ID.reset(token)
        log.removeHandler(handler)
    entry = json.loads(capsys.readouterr().err.strip())
    assert entry["request_id"] == "req-1" and entry["message"] == "failed for x"
    assert entry["level"] == "error" and "ValueError: boom" in entry["exception"]


def test_an_unexpected_error_is_a_logged_500_with_the_request_id(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(database_url=None), database_url=database_url)

    @app.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    with ServerThread(Settings(), database_url, app=app) as running:
        response = httpx.get(f"{running.url}/v1/broken", headers={"X-Request-ID": "bug-report-1"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert response.headers["x-request-id"] == "bug-report-1"
    (logged,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert logged.exc_info is not None and "a bug" in str(logged.exc_info[1])
