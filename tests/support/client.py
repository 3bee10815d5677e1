"""Helpers of the SDK-only tests: a scripted fake server and sync/async call shims.

Imported by name rather than through conftest, because other test
directories may have a conftest of their own.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx

BASE_URL = "http://memory.test"

MEMORY_JSON: dict[str, Any] = {
    "name": "webshop",
    "created_at": "2026-01-02T03:04:05Z",
    "gamma": 0.9,
    "n_step": 1,
    "update_mode": "mean",
    "learning_rate": 0.1,
    "lambda": 0.5,
    "action_history_mode": "shortest",
    "item_capacity": None,
    "action_capacity": None,
    "embedder": "client",
    "dimension": 3,
}

RECORD_JSON: dict[str, Any] = {
    "record_id": 7,
    "task": "buy a mug",
    "observation": "home",
    "visits": 1,
    "last_reward": 0.0,
    "total_reward": 0.0,
    "action_history": [],
    "actions": [{"action": "search[mug]", "note": None, "q": 1.0, "reward": 0.0, "visits": 1}],
}


def update_json(episode_id: str, next_step: int, done: bool = False) -> dict[str, Any]:
    return {
        "updated": [],
        "episode": {"episode_id": episode_id, "next_step": next_step, "done": done},
    }


def error_json(code: str, message: str = "something is wrong") -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeServer:
    """Answers requests from a queue of scripted replies and records every request.

    A reply is a response, an exception to raise (transport failures), or a function
    of the request. When the queue is empty the `default` reply is used.
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.replies: deque[Reply] = deque()
        self.default: Reply | None = None

    def reply(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def json(self, status: int, body: Any = None, **headers: str) -> None:
        self.reply(make_response(status, body, headers))

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.replies:
            reply = self.replies.popleft()
        elif self.default is not None:
            reply = self.default
        else:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def make_response(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    if isinstance(body, str | bytes):
        return httpx.Response(status, content=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


async def call(target: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call `method` on a sync or async object and return its (awaited) result."""
    result = getattr(target, method)(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


async def collect(iterable: Iterable[Any] | AsyncIterator[Any]) -> list[Any]:
    if isinstance(iterable, AsyncIterator):
        return [item async for item in iterable]
    return list(iterable)
