"""`rememberer mcp --url URL`: the tools over stdio, for agents that spawn their servers,
talking to a running service through the SDK so that every agent shares one memory."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context
from rememberer_client import AsyncMemoryClient

from rememberer.mcp_server.tools import EpisodeReturn, build_server


class ClientBackend:
    def __init__(self, client: AsyncMemoryClient) -> None:
        self._client = client

    def client(self, ctx: Context) -> AsyncMemoryClient:
        return self._client

    async def recent_episodes(
        self, ctx: Context, memory: str, limit: int
    ) -> list[EpisodeReturn] | None:
        """From GET /v1/memories/{m}/episodes; None from a service without that route."""
        import httpx

        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.get(
                f"{self._client.base_url}/v1/memories/{memory}/episodes",
                params={"limit": limit},
                headers=self._client.default_headers,
            )
        if response.status_code != 200:
            return None
        items: list[dict[str, Any]] = response.json().get("items", [])
        return [EpisodeReturn.model_validate(item) for item in items]


async def serve_stdio(url: str, api_key: str | None) -> None:
    async with AsyncMemoryClient(url, api_key=api_key) as client:
        await build_server(ClientBackend(client)).run_stdio_async()
