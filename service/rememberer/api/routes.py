"""The v1 endpoints. Routes only translate HTTP to the domain modules; errors are domain
exceptions that one handler (rememberer.app) maps to status codes."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator

from rememberer import schemas
from rememberer.api.auth import PrincipalDep, authorize, require_scope
from rememberer.api.deps import MemoryDep, MemoryName, ServicesDep, reject_unknown_query
from rememberer.errors import Unprocessable
from rememberer.interop import bulk
from rememberer.learning import reflections, rlem
from rememberer.memories import catalog, records
from rememberer.search import retrieval
from rememberer.storage.db import SessionDep

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
    exemplars = await retrieval.retrieve(
        session,
        memory,
        vectors[body.task],
        vectors[body.observation],
        k=body.k,
        lambda_=lambda_,
        params=services.search,
        observation_text=body.observation,
    )
    services.metrics.retrieval_latency.observe(time.perf_counter() - started)
    answer = schemas.RetrieveResponse(exemplars=exemplars)
    if body.reflections:
        answer.reflections = await reflections.newest_for_task(
            session, memory, body.task, body.reflections
        )
    await session.commit()
    return answer


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


# --- Retroformer reflections -----------------------------------------------------------------

TaskFilter = Annotated[
    Annotated[str, AfterValidator(schemas.reject_nul)] | None,
    Query(max_length=MAX_TASK_FILTER_CHARS, description="only this task"),
]
ReflectionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
ExportFormatQuery = Annotated[
    reflections.ExportFormat,
    Query(alias="format", description="jsonl: one row per rated use; pairs: chosen/rejected"),
]


@router.post(
    "/memories/{memory}/reflections",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Reflection,
    responses={**ERRORS, 200: {"description": "the same reflection already existed"}},
)
async def create_reflection(
    body: schemas.ReflectionCreate, memory: MemoryDep, session: SessionDep, response: Response
) -> schemas.Reflection:
    reflection, created = await reflections.create_reflection(session, memory, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return reflection


@router.get(
    "/memories/{memory}/reflections",
    response_model=schemas.Page[schemas.Reflection],
    responses=ERRORS,
)
async def list_reflections(
    memory: MemoryDep,
    session: SessionDep,
    task: TaskFilter = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> schemas.Page[schemas.Reflection]:
    return await reflections.list_reflections(session, memory, task, limit, cursor)


@router.get(
    "/memories/{memory}/reflections/export",
    response_class=StreamingResponse,
    responses={**ERRORS, 200: {"content": {"application/x-ndjson": {}}}},
)
async def export_reflections(
    memory: MemoryDep,
    session: SessionDep,
    request: Request,
    export_format: ExportFormatQuery = "jsonl",
    task: TaskFilter = None,
) -> StreamingResponse:
    # The memory is looked up first, so that an unknown one is a 404 rather than a cut stream;
    # the stream then reads through a session of its own, and this one lets its connection go.
    await session.close()
    lines = reflections.export_lines(request.app.state.sessionmaker, memory, export_format, task)
    filename = f"{memory.name}-reflections-{export_format}.jsonl"
    return StreamingResponse(
        lines,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/memories/{memory}/reflections/{reflection_id}",
    response_model=schemas.ReflectionDetail,
    responses=ERRORS,
)
async def get_reflection(
    reflection_id: ReflectionId, memory: MemoryDep, session: SessionDep
) -> schemas.ReflectionDetail:
    return await reflections.get_reflection(session, memory, reflection_id)


@router.post("/memories/{memory}/records", response_model=schemas.RecordsUpserted, responses=ERRORS)
async def upsert_records(
    body: schemas.RecordsUpsert, memory: MemoryDep, session: SessionDep, services: ServicesDep
) -> schemas.RecordsUpserted:
    """Creates or replaces records with their action values, in one transaction (imports)."""
    return await bulk.upsert_records(session, memory, services.vectors, services.search, body)
