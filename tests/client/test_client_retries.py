"""Retry policy: what is retried, how often, how long it waits, per-call overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import rememberer_client as rc
from rememberer_client._base import (
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    parse_retry_after,
)

from tests.support.client import MEMORY_JSON, FakeServer, call, error_json, update_json


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_retryable_status_is_retried_max_retries_times(
    client: Any, server: FakeServer, sleeps: list[float], status: int
) -> None:
    server.default = httpx.Response(status, json=error_json("busy"))
    with pytest.raises(rc.APIStatusError) as caught:
        await call(client, "get_memory", "webshop")
    assert caught.value.status_code == status
    assert len(server.requests) == 1 + rc.DEFAULT_MAX_RETRIES
    assert len(sleeps) == rc.DEFAULT_MAX_RETRIES


async def test_success_after_transient_failures(
    client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    server.json(503, error_json("internal_error"))
    server.reply(httpx.ConnectError("refused"))
    server.json(200, MEMORY_JSON)
    memory = await call(client, "get_memory", "webshop")
    assert memory.name == "webshop"
    assert len(server.requests) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
async def test_other_4xx_are_not_retried(
    client: Any, server: FakeServer, sleeps: list[float], status: int
) -> None:
    server.default = httpx.Response(status, json=error_json("nope"))
    with pytest.raises(rc.APIStatusError):
        await call(client, "get_memory", "webshop", max_retries=5)
    assert len(server.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("eof"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow"),
    ],
)
async def test_transport_failures_are_retried(
    client: Any, server: FakeServer, sleeps: list[float], exc: Exception
) -> None:
    server.default = exc
    with pytest.raises(rc.APIConnectionError):
        await call(client, "get_memory", "webshop", max_retries=3)
    assert len(server.requests) == 4
    assert len(sleeps) == 3


async def test_retry_after_seconds_is_honoured(
    client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    server.json(429, error_json("rate_limited"), **{"Retry-After": "7"})
    server.json(503, error_json("internal_error"), **{"Retry-After": "1.5"})
    server.json(200, MEMORY_JSON)
    await call(client, "get_memory", "webshop")
    assert sleeps == [7.0, 1.5]


async def test_retry_after_http_date_is_honoured(
    client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    server.json(429, error_json("rate_limited"), **{"Retry-After": format_datetime(when, True)})
    server.json(200, MEMORY_JSON)
    await call(client, "get_memory", "webshop")
    assert len(sleeps) == 1
    assert 27.0 <= sleeps[0] <= 30.0


async def test_retry_after_is_capped(client: Any, server: FakeServer, sleeps: list[float]) -> None:
    server.json(429, error_json("rate_limited"), **{"Retry-After": "3600"})
    server.json(200, MEMORY_JSON)
    await call(client, "get_memory", "webshop")
    assert sleeps == [MAX_RETRY_AFTER]


async def test_unusable_retry_after_falls_back_to_backoff(
    client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    server.json(429, error_json("rate_limited"), **{"Retry-After": "soon-ish"})
    server.json(200, MEMORY_JSON)
    await call(client, "get_memory", "webshop")
    assert INITIAL_RETRY_DELAY * 0.75 <= sleeps[0] <= INITIAL_RETRY_DELAY


async def test_backoff_grows_exponentially_with_bounded_jitter(
    make_client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    client = make_client(max_retries=6)
    client._random = lambda: 0.0  # no jitter: exact schedule
    server.default = httpx.Response(500, json=error_json("internal_error"))
    with pytest.raises(rc.InternalServerError):
        await call(client, "get_memory", "webshop")
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, MAX_RETRY_DELAY]

    sleeps.clear()
    client._random = lambda: 1.0  # most jitter: 25% shorter
    with pytest.raises(rc.InternalServerError):
        await call(client, "get_memory", "webshop", max_retries=2)
    assert sleeps == [0.375, 0.75]


async def test_per_call_max_retries_override(
    client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    server.default = httpx.Response(503, json=error_json("internal_error"))
    with pytest.raises(rc.InternalServerError):
        await call(client, "get_memory", "webshop", max_retries=0)
    assert len(server.requests) == 1
    with pytest.raises(rc.InternalServerError):
        await call(client, "get_memory", "webshop", max_retries=4)
    assert len(server.requests) == 1 + 5


async def test_client_max_retries_and_with_options(
    make_client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    client = make_client(max_retries=1)
    server.default = httpx.Response(503, json=error_json("internal_error"))
    with pytest.raises(rc.InternalServerError):
        await call(client, "get_memory", "webshop")
    assert len(server.requests) == 2

    patient = client.with_options(max_retries=3)
    assert patient.max_retries == 3 and client.max_retries == 1
    with pytest.raises(rc.InternalServerError):
        await call(patient, "get_memory", "webshop")
    assert len(server.requests) == 2 + 4


async def test_update_is_retried_with_identical_body(
    client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    server.reply(httpx.ReadTimeout("lost answer"))
    server.json(200, update_json("ep-1", 1))
    transition = {
        "step": 0,
        "observation": "o0",
        "action": "a0",
        "reward": 1.0,
        "next_observation": "o1",
    }
    result = await call(client, "update", "webshop", "ep-1", "task", [transition])
    assert result.episode.next_step == 1
    assert len(server.requests) == 2
    assert server.requests[0].content == server.requests[1].content


@pytest.mark.parametrize(
    ("method", "args"), [("delete_memory", ("webshop",)), ("delete_record", ("webshop", 7))]
)
async def test_delete_answered_404_after_a_retry_counts_as_done(
    client: Any, server: FakeServer, sleeps: list[float], method: str, args: tuple[Any, ...]
) -> None:
    # The first attempt deleted it but its answer was lost; the retry finds nothing.
    server.reply(httpx.ReadTimeout("lost answer"))
    server.json(404, error_json("memory_not_found"))
    assert await call(client, method, *args) is None
    assert len(server.requests) == 2


async def test_delete_answered_404_first_time_raises(client: Any, server: FakeServer) -> None:
    server.json(404, error_json("memory_not_found"))
    with pytest.raises(rc.NotFoundError):
        await call(client, "delete_memory", "webshop")


async def test_ready_503_is_an_answer_not_retried(
    client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    server.json(503, {"status": "migrating"})
    assert await call(client, "ready") is False
    assert len(server.requests) == 1 and sleeps == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0.0), ("5", 5.0), ("2.5", 2.5), (" 3 ", 3.0), ("-1", None), ("nan", None), ("", None)],
)
def test_parse_retry_after_seconds(value: str, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_retry_after("Fri, 02 Jan 2026 03:04:15 GMT", now=now) == 10.0
    assert parse_retry_after("Fri, 02 Jan 2026 03:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("Friday sometime", now=now) is None
