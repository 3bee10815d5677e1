"""Error mapping: every status class, the error body, odd bodies, transport failures."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import rememberer_client as rc

from tests.support.client import FakeServer, call, error_json


def test_exception_tree() -> None:
    assert issubclass(rc.APIError, rc.RemembererError)
    assert issubclass(rc.APIConnectionError, rc.APIError)
    assert issubclass(rc.APITimeoutError, rc.APIConnectionError)
    assert issubclass(rc.APIStatusError, rc.APIError)
    assert issubclass(rc.APIResponseValidationError, rc.APIError)
    assert issubclass(rc.EpisodeFinishedError, rc.RemembererError)
    assert not issubclass(rc.EpisodeFinishedError, rc.APIError)
    for error_class in (
        rc.BadRequestError,
        rc.AuthenticationError,
        rc.PermissionDeniedError,
        rc.NotFoundError,
        rc.ConflictError,
        rc.RequestTooLargeError,
        rc.UnprocessableEntityError,
        rc.RateLimitError,
        rc.InternalServerError,
    ):
        assert issubclass(error_class, rc.APIStatusError)


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (400, "invalid_request", rc.BadRequestError),
        (401, "unauthorized", rc.AuthenticationError),
        (403, "forbidden", rc.PermissionDeniedError),
        (404, "memory_not_found", rc.NotFoundError),
        (409, "memory_exists", rc.ConflictError),
        (413, "payload_too_large", rc.RequestTooLargeError),
        (422, "invalid_request", rc.UnprocessableEntityError),
        (429, "rate_limited", rc.RateLimitError),
        (500, "internal_error", rc.InternalServerError),
        (502, "bad_gateway", rc.InternalServerError),
        (503, "unavailable", rc.InternalServerError),
        (418, "teapot", rc.APIStatusError),
    ],
)
async def test_status_maps_to_exception(
    client: Any, server: FakeServer, status: int, code: str, error_class: type[Exception]
) -> None:
    server.default = httpx.Response(status, json=error_json(code, "fix it like so"))
    with pytest.raises(error_class) as caught:
        await call(client, "get_memory", "webshop", max_retries=0)
    error = caught.value
    assert type(error) is error_class
    assert isinstance(error, rc.APIStatusError)
    assert error.status_code == status
    assert error.code == code
    assert error.message == "fix it like so"
    assert error.response.status_code == status
    assert error.body == error_json(code, "fix it like so")
    assert error.request is not None and error.request.url.path == "/v1/memories/webshop"
    assert str(error) == f"{status} {code}: fix it like so"


@pytest.mark.parametrize(
    "code", ["out_of_order", "step_conflict", "memory_exists"], ids=lambda code: code
)
async def test_conflict_codes_are_kept(client: Any, server: FakeServer, code: str) -> None:
    server.json(409, error_json(code))
    with pytest.raises(rc.ConflictError) as caught:
        await call(client, "update", "webshop", "ep", "task", [_transition()])
    assert caught.value.code == code


async def test_non_json_error_body_is_tolerated(client: Any, server: FakeServer) -> None:
    server.json(502, "<html><body>Bad Gateway</body></html>")
    with pytest.raises(rc.InternalServerError) as caught:
        await call(client, "get_memory", "webshop", max_retries=0)
    assert caught.value.code is None
    assert caught.value.body is None
    assert "Bad Gateway" in caught.value.message


async def test_empty_error_body_uses_reason_phrase(client: Any, server: FakeServer) -> None:
    server.json(404)
    with pytest.raises(rc.NotFoundError) as caught:
        await call(client, "get_memory", "webshop")
    assert caught.value.code is None
    assert caught.value.message == "Not Found"


async def test_framework_detail_body_is_tolerated(client: Any, server: FakeServer) -> None:
    server.json(422, {"detail": [{"loc": ["body", "k"], "msg": "too big"}]})
    with pytest.raises(rc.UnprocessableEntityError) as caught:
        await call(client, "retrieve", "webshop", "t", "o", k=1000)
    assert caught.value.code is None
    assert "too big" in caught.value.message


async def test_json_error_of_unexpected_shape(client: Any, server: FakeServer) -> None:
    server.json(400, ["not", "an", "object"])
    with pytest.raises(rc.BadRequestError) as caught:
        await call(client, "get_memory", "webshop")
    assert caught.value.code is None
    assert caught.value.body == ["not", "an", "object"]


async def test_huge_non_json_body_is_truncated(client: Any, server: FakeServer) -> None:
    server.json(400, "x" * 10_000)
    with pytest.raises(rc.BadRequestError) as caught:
        await call(client, "get_memory", "webshop")
    assert len(caught.value.message) <= 501


async def test_malformed_success_body(client: Any, server: FakeServer) -> None:
    server.json(200, "this is not json")
    with pytest.raises(rc.APIResponseValidationError) as caught:
        await call(client, "get_memory", "webshop")
    assert caught.value.status_code == 200
    server.json(200, {"name": "webshop"})  # created_at missing
    with pytest.raises(rc.APIResponseValidationError):
        await call(client, "get_memory", "webshop")


async def test_connection_error(client: Any, server: FakeServer) -> None:
    server.default = httpx.ConnectError("connection refused")
    with pytest.raises(rc.APIConnectionError) as caught:
        await call(client, "get_memory", "webshop", max_retries=0)
    assert not isinstance(caught.value, rc.APITimeoutError)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert "connection refused" in str(caught.value)
    assert caught.value.request is not None


@pytest.mark.parametrize(
    "exc", [httpx.ConnectTimeout("slow"), httpx.ReadTimeout("slow"), httpx.PoolTimeout("slow")]
)
async def test_timeouts_raise_api_timeout_error(
    client: Any, server: FakeServer, exc: Exception
) -> None:
    server.default = exc
    with pytest.raises(rc.APITimeoutError) as caught:
        await call(client, "get_memory", "webshop", max_retries=0)
    assert caught.value.__cause__ is exc


async def test_undecodable_body_is_a_connection_error(client: Any, server: FakeServer) -> None:
    server.default = httpx.DecodingError("bad gzip")
    with pytest.raises(rc.APIConnectionError):
        await call(client, "get_memory", "webshop")
    assert len(server.requests) == 1  # not retried: it would fail the same way


def _transition() -> dict[str, Any]:
    return {
        "step": 0,
        "observation": "o0",
        "action": "a0",
        "reward": 0.0,
        "next_observation": "o1",
    }
