"""Authentication and authorization as dependencies of every `/v1` route.

A memory outside a key's scope answers exactly as a missing one (404 memory_not_found), so a
scoped key learns nothing about the other memories, not even whether they exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rememberer.api.deps import get_services
from rememberer.auth import Principal, identify
from rememberer.db import SessionDep
from rememberer.errors import Forbidden, MemoryNotFound

bearer = HTTPBearer(
    auto_error=False,
    description="the admin key (REMEMBERER_ADMIN_KEY) or a key minted by POST /v1/keys",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def authorize(request: Request, session: SessionDep, credentials: Credentials) -> Principal:
    """The caller, checked against the memory the path names (if it names one)."""
    settings = get_services(request).settings
    principal = await identify(
        session, settings.admin_key, credentials.credentials if credentials else None
    )
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
