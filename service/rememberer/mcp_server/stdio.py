"""`rememberer mcp --url URL`: the tools over stdio, for agents that spawn their servers,
talking to a running service through the SDK so that every agent shares one memory."""

from __future__ import annotations

from mcp.server.mcpserver import Context
from rememberer_client import AsyncMemoryClient

from rememberer.mcp_server.tools import build_server


class ClientBackend:
    def __init__(self, client: AsyncMemoryClient) -> None:
        self._client = client

    def client(self, ctx: Context) -> AsyncMemoryClient:
        return self._client


async def serve_stdio(url: str, api_key: str | None) -> None:
    async with AsyncMemoryClient(url, api_key=api_key) as client:
        await build_server(ClientBackend(client)).run_stdio_async()
