"""Authentication (a middleware) and authorization (dependencies of every `/v1` route).

The middleware answers 401 to a `/v1` request without a valid key before anything else
looks at it, so an unauthenticated caller learns nothing, not even whether its body would
parse or its route exists. The dependencies then check what the key may touch: a memory
outside a key's scope answers exactly as a missing one (404 memory_not_found), so a scoped
key learns nothing about the other memories, not even whether they exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from pydantic import SecretStr
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from rememberer.api.deps import SessionDep, services_of
from rememberer.errors import Forbidden, MemoryNotFound, Unauthorized
from rememberer.memories.access import Principal, identify
from rememberer.observability import header

SCHEME = "bearer"


PRINCIPAL = "principal"  # where the middleware leaves the caller, in the request state


def bearer_key(authorization: str | None) -> str | None:
    scheme, _, key = (authorization or "").partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


def is_v1(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def needs_key(path: str) -> bool:
    """/v1, and /mcp whose tools reach /v1 with the same key."""
    return is_v1(path) or path == "/mcp" or path.startswith("/mcp/")


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, admin_key: SecretStr | None) -> None:
        self.app = app
        self.admin_key = admin_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.admin_key is not None and needs_key(scope["path"]):
            key = bearer_key(header(scope, b"authorization"))
            try:
                async with scope["app"].state.sessionmaker() as session:
                    principal = await identify(session, self.admin_key, key)
            except Unauthorized as refusal:
                response = JSONResponse(
                    status_code=refusal.status_code, content=refusal.body(), headers=refusal.headers
                )
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})[PRINCIPAL] = principal
        await self.app(scope, receive, send)


async def authorize(request: Request, session: SessionDep) -> Principal:
    """The caller, checked against the memory the path names (if it names one)."""
    principal: Principal | None = request.scope.get("state", {}).get(PRINCIPAL)
    if principal is None:  # no middleware in front (or no admin key): identify here
        settings = services_of(request).settings
        key = bearer_key(request.headers.get("authorization"))
        principal = await identify(session, settings.admin_key, key)
    memory = request.path_params.get("memory")
    if isinstance(memory, str) and not principal.may_use(memory):
        raise MemoryNotFound(memory)
    return principal


PrincipalDep = Annotated[Principal, Depends(authorize)]


async def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin:
        raise Forbidden("only the admin key can manage API keys")
    return principal


def require_scope(principal: Principal, memory: str) -> None:
    """For a memory named in the body rather than the path (creation)."""
    if not principal.may_use(memory):
        raise Forbidden(f"this API key is not allowed to use memory {memory!r}")


def document_bearer_auth(app: FastAPI) -> None:
    """Declare the bearer scheme on every /v1 operation of the OpenAPI document. Only for
    a service that requires keys: an open one must not document a requirement it lacks."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()  # built once, then cached by FastAPI; amended once
        components = document.setdefault("components", {})
        if SCHEME not in components.get("securitySchemes", {}):
            components.setdefault("securitySchemes", {})[SCHEME] = {
                "type": "http",
                "scheme": "bearer",
                "description": "the admin key (REMEMBERER_ADMIN_KEY) or a key from POST /v1/keys",
            }
            for path, operations in document["paths"].items():
                if path.startswith("/v1/"):
                    for operation in operations.values():
                        operation["security"] = [{SCHEME: []}]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
