"""Authentication and authorization as dependencies of every `/v1` route.

A memory outside a key's scope answers exactly as a missing one (404 memory_not_found), so a
scoped key learns nothing about the other memories, not even whether they exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from rememberer.api.deps import get_services
from rememberer.auth import Principal, identify
from rememberer.db import SessionDep
from rememberer.errors import Forbidden, MemoryNotFound

SCHEME = "bearer"


def bearer_key(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


async def authorize(request: Request, session: SessionDep) -> Principal:
    """The caller, checked against the memory the path names (if it names one)."""
    settings = get_services(request).settings
    principal = await identify(session, settings.admin_key, bearer_key(request))
    memory = request.path_params.get("memory")
    if isinstance(memory, str) and not principal.may_use(memory):
        raise MemoryNotFound(memory)
    return principal


PrincipalDep = Annotated[Principal, Depends(authorize)]


def require_admin(principal: PrincipalDep) -> Principal:
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
