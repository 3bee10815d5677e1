"""Database errors by SQLSTATE, as real servers raise them: transient conditions are 503
with Retry-After (the SDK retries them), bad values 422, a memory deleted meanwhile 404,
and anything else a logged 500 that is not retried. /readyz keeps the reason to the log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from rememberer.api.errors import database_error_response
from rememberer.config import Settings
from rememberer.observability import REQUEST_ID
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request

from tests.support.database import plain_url
from tests.support.http import ServerThread


@pytest.fixture
def connection(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(plain_url(database_url), autocommit=True) as connection:
        yield connection


def raised_by(connection: psycopg.Connection[tuple[object, ...]], sql: str) -> DBAPIError:
    """The server's error for `sql`, wrapped as SQLAlchemy wraps the driver's."""
    with pytest.raises(psycopg.Error) as raised:
        connection.execute(sql.encode())
    wrapped = DBAPIError.instance(sql, None, raised.value, psycopg.Error)
    assert isinstance(wrapped, DBAPIError)
    return wrapped


def raising(state: str) -> str:
    return f"DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '{state}'; END $$"


def answer(exc: DBAPIError, memory: str = "m") -> tuple[int, dict[str, str], dict[str, Any]]:
    request = Request({"type": "http", "path_params": {"memory": memory}, "headers": []})
    token = REQUEST_ID.set("request-7")
    try:
        response = database_error_response(request, exc)
    finally:
        REQUEST_ID.reset(token)
    return response.status_code, dict(response.headers), json.loads(bytes(response.body))


@pytest.mark.parametrize(
    "state",
    ["40001", "40P01", "53300", "53100", "57P01", "57P02", "57P03", "08006", "08001"],
)
def test_transient_sqlstates_are_503_with_retry_after(
    connection: psycopg.Connection[tuple[object, ...]], state: str
) -> None:
    status, headers, body = answer(raised_by(connection, raising(state)))
    assert (status, headers.get("retry-after")) == (503, "1")
    assert body["error"] == {
        "code": "unavailable",
        "message": "the database is unavailable; retry later",
    }


def test_a_lost_connection_is_503(connection: psycopg.Connection[tuple[object, ...]]) -> None:
    connection.close()
    status, headers, _ = answer(raised_by(connection, "SELECT 1"))
    assert (status, headers.get("retry-after")) == (503, "1")


@pytest.mark.parametrize(
    "sql",
    [
        # unique violation (23505)
        "CREATE TEMPORARY TABLE once (k int PRIMARY KEY); INSERT INTO once VALUES (1), (1)",
        "SELEC 1",  # syntax error (42601)
        "SELECT no_such_column FROM memories",  # undefined column (42703)
        raising("XX000"),  # internal error
    ],
)
def test_other_database_errors_are_500_with_the_request_id_and_no_retry(
    connection: psycopg.Connection[tuple[object, ...]],
    sql: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    status, headers, body = answer(raised_by(connection, sql))
    assert status == 500 and "retry-after" not in headers
    assert headers["x-request-id"] == "request-7"
    assert body["error"]["code"] == "internal_error"
    assert any(r.getMessage().startswith("database error (SQLSTATE") for r in caplog.records)


def test_a_value_the_database_cannot_take_is_422(
    connection: psycopg.Connection[tuple[object, ...]],
) -> None:
    status, _, body = answer(raised_by(connection, "SELECT 1 / 0"))
    assert (status, body["error"]["code"]) == (422, "invalid_request")


def test_a_write_into_a_deleted_memory_is_404(
    connection: psycopg.Connection[tuple[object, ...]],
) -> None:
    sql = (
        "INSERT INTO episodes (memory_id, episode_id, task, next_step, done, return) "
        "VALUES (-1, 'e', 't', 0, false, 0)"
    )
    status, _, body = answer(raised_by(connection, sql), memory="gone")
    assert (status, body["error"]["code"]) == (404, "memory_not_found")


def test_readyz_does_not_tell_the_reason(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    missing = database_url.replace("/test_", "/missing_", 1)
    with ServerThread(Settings(database_url=None), missing) as running:
        response = httpx.get(f"{running.url}/readyz", timeout=30)
    assert response.status_code == 503
    assert response.json() == {"status": "database unreachable"}
    assert any("readiness check failed" in r.getMessage() for r in caplog.records)
