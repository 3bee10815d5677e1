"""`/mcp` on the service: Streamable HTTP, stateless (any replica answers any call).

The tools reach the app's own /v1 routes in-process (httpx's ASGI transport) with the
caller's key, so a key reaches exactly what it reaches on /v1, hostile input meets the same
limits and errors carry the same messages. The authentication middleware answers 401 on
/mcp before this runs, as on /v1.

Host checks: the SDK's DNS-rebinding protection guards unauthenticated servers on a laptop
that a web page could reach. This service runs behind keys, in containers and behind
reverse proxies whose Host headers cannot be listed in advance, so the check is off unless
`REMEMBERER_MCP_ALLOWED_HOSTS` lists hosts ("host", "host:port" or "host:*").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from mcp.server.mcpserver import Context
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from rememberer_client import AsyncMemoryClient
from starlette.types import ASGIApp, Receive, Scope, Send

from rememberer.config import Settings
from rememberer.mcp_server.tools import build_server

INTERNAL_URL = "http://rememberer.internal"


def caller_authorization(ctx: Context) -> str | None:
    value = (ctx.headers or {}).get("authorization")
    return str(value) if value else None


class InProcessBackend:
    def __init__(self, app: ASGIApp) -> None:
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=120)

    def client(self, ctx: Context) -> AsyncMemoryClient:
        authorization = caller_authorization(ctx)
        # api_key="" rather than None: never the server's own REMEMBERER_API_KEY.
        headers = {"Authorization": authorization} if authorization else None
        return AsyncMemoryClient(
            INTERNAL_URL, api_key="", default_headers=headers, http_client=self._http
        )

    async def aclose(self) -> None:
        await self._http.aclose()


def transport_security(settings: Settings) -> TransportSecuritySettings:
    hosts = [h.strip() for h in settings.mcp_allowed_hosts.split(",") if h.strip()]
    if not hosts or "*" in hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    origins = [f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)


class McpEndpoint:
    """The ASGI endpoint of /mcp; `running` (inside the app's lifespan) makes a fresh
    server and session manager each time the app starts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self, app: ASGIApp) -> AsyncIterator[None]:
        backend = InProcessBackend(app)
        server = build_server(backend)
        server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            transport_security=transport_security(self.settings),
            max_request_body_size=self.settings.max_body_bytes,
        )
        manager = server.session_manager
        try:
            async with manager.run():
                self._manager = manager
                yield
        finally:
            self._manager = None
            await backend.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._manager is None:
            raise RuntimeError("/mcp called outside the app's lifespan")
        await self._manager.handle_request(scope, receive, send)
