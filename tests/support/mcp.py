"""MCP clients (the SDK's own) against the session's running service, over both transports."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from tests.support.agents import VECTORS


@asynccontextmanager
async def http_mcp(url: str, key: str | None = None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=120) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        yield client


@asynccontextmanager
async def stdio_mcp(url: str, key: str | None = None) -> AsyncIterator[Client]:
    args = ["-m", "rememberer.cli", "mcp", "--url", url] + (["--api-key", key] if key else [])
    params = StdioServerParameters(command=sys.executable, args=args)
    async with Client(params) as client:
        yield client


def create_memory(api: httpx.Client, name: str) -> None:
    body = {"name": name, "embedder": "client", "dimension": 5, "gamma": 0.0, "n_step": 1}
    assert api.post("/v1/memories", json=body).status_code == 201
    assert api.put(f"/v1/memories/{name}/embeddings", json={"embeddings": VECTORS}).is_success


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return dict(result.structured_content)


def text_of(result: CallToolResult) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)
