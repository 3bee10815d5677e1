"""`/v1/memories`: create, list, describe and delete memories."""

from __future__ import annotations

from fastapi import Response, status

from rememberer import schemas
from rememberer.api.auth import PrincipalDep, require_scope
from rememberer.api.common import ERRORS, Cursor, Limit, v1_router
from rememberer.api.deps import MemoryName, ServicesDep, SessionDep
from rememberer.memories import catalog

router = v1_router()


@router.post(
    "/memories",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.MemoryDetail,
    responses=ERRORS,
)
async def create_memory(
    body: schemas.MemoryCreate, session: SessionDep, principal: PrincipalDep
) -> schemas.MemoryDetail:
    require_scope(principal, body.name)
    return await catalog.create_memory(session, body)


@router.get("/memories", response_model=schemas.Page[schemas.Memory], responses=ERRORS)
async def list_memories(
    session: SessionDep, principal: PrincipalDep, limit: Limit = 100, cursor: Cursor = None
) -> schemas.Page[schemas.Memory]:
    return await catalog.list_memories(session, limit, cursor, only=principal.memories)


@router.get("/memories/{memory}", response_model=schemas.MemoryDetail, responses=ERRORS)
async def get_memory(memory: MemoryName, session: SessionDep) -> schemas.MemoryDetail:
    return await catalog.describe_memory(session, memory)


@router.delete("/memories/{memory}", status_code=204, responses=ERRORS)
async def delete_memory(memory: MemoryName, session: SessionDep, services: ServicesDep) -> Response:
    deleted = await catalog.delete_memory(session, memory)
    services.search.indexes.drop(deleted)
    services.memories.forget(memory)
    return Response(status_code=204)
