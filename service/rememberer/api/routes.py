"""The v1 endpoints. Routes only translate HTTP to the domain modules; errors are domain
exceptions that one handler (rememberer.app) maps to status codes."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from rememberer import memories, records, retrieval, rlem, schemas
from rememberer.api.auth import PrincipalDep, authorize, require_scope
from rememberer.api.deps import MemoryDep, MemoryName, ServicesDep, reject_unknown_query
from rememberer.db import SessionDep
from rememberer.errors import Unprocessable

router = APIRouter(prefix="/v1", dependencies=[Depends(authorize), Depends(reject_unknown_query)])

Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=200)]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# A query string has to fit in the server's request-line buffer (16 KiB in uvicorn), even
# with every character percent-encoded as 4 UTF-8 bytes.
MAX_TASK_FILTER_CHARS = 1_000
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": schemas.ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422)
}


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
    return await memories.create_memory(session, body)


@router.get("/memories", response_model=schemas.Page[schemas.Memory], responses=ERRORS)
async def list_memories(
    session: SessionDep, principal: PrincipalDep, limit: Limit = 100, cursor: Cursor = None
) -> schemas.Page[schemas.Memory]:
    return await memories.list_memories(session, limit, cursor, only=principal.memories)


@router.get("/memories/{memory}", response_model=schemas.MemoryDetail, responses=ERRORS)
async def get_memory(memory: MemoryName, session: SessionDep) -> schemas.MemoryDetail:
    return await memories.describe_memory(session, memory)


@router.delete("/memories/{memory}", status_code=204, responses=ERRORS)
async def delete_memory(memory: MemoryName, session: SessionDep) -> Response:
    await memories.delete_memory(session, memory)
    return Response(status_code=204)


@router.put(
    "/memories/{memory}/embeddings", response_model=schemas.EmbeddingsStored, responses=ERRORS
)
async def put_embeddings(
    body: schemas.EmbeddingsPut, memory: MemoryDep, session: SessionDep, services: ServicesDep
) -> schemas.EmbeddingsStored:
    stored = await services.vectors.put(session, memory, body.embeddings)
    await session.commit()
    return schemas.EmbeddingsStored(stored=stored)


@router.post(
    "/memories/{memory}/retrieve", response_model=schemas.RetrieveResponse, responses=ERRORS
)
async def retrieve(
    body: schemas.RetrieveRequest, memory: MemoryDep, session: SessionDep, services: ServicesDep
) -> schemas.RetrieveResponse:
    vectors = await services.vectors.resolve(session, memory, [body.task, body.observation])
    lambda_ = memory.lambda_ if body.lambda_ is None else body.lambda_
    started = time.perf_counter()
    ranked = await retrieval.rank(
        session,
        memory,
        vectors[body.task],
        vectors[body.observation],
        k=body.k,
        lambda_=lambda_,
        params=services.search,
    )
    exemplars = await retrieval.exemplars(session, memory, ranked)
    services.metrics.retrieval_latency.observe(time.perf_counter() - started)
    await session.commit()
    return schemas.RetrieveResponse(exemplars=exemplars)


@router.post("/memories/{memory}/update", response_model=schemas.UpdateResponse, responses=ERRORS)
async def update(
    body: schemas.UpdateRequest, memory: MemoryDep, session: SessionDep, services: ServicesDep
) -> schemas.UpdateResponse:
    updater = rlem.Updater(session, memory, services.vectors, services.search)
    response = await updater.run(body)
    services.metrics.count_updates(updater.applied_transitions, updater.applied_values)
    return response


@router.get(
    "/memories/{memory}/records", response_model=schemas.Page[schemas.Record], responses=ERRORS
)
async def list_records(
    memory: MemoryDep,
    session: SessionDep,
    task: Annotated[str | None, Query(max_length=MAX_TASK_FILTER_CHARS)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> schemas.Page[schemas.Record]:
    if task is not None and "\x00" in task:
        raise Unprocessable("task must not contain NUL characters")
    return await records.list_records(session, memory, task, limit, cursor)


@router.get(
    "/memories/{memory}/records/{record_id}", response_model=schemas.Record, responses=ERRORS
)
async def get_record(record_id: RecordId, memory: MemoryDep, session: SessionDep) -> schemas.Record:
    return await records.get_record(session, memory, record_id)


@router.delete("/memories/{memory}/records/{record_id}", status_code=204, responses=ERRORS)
async def delete_record(record_id: RecordId, memory: MemoryDep, session: SessionDep) -> Response:
    await records.delete_record(session, memory, record_id)
    return Response(status_code=204)
