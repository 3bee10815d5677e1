"""`/v1/memories/{memory}/records`: list, read, delete and bulk-load state records."""

from __future__ import annotations

from fastapi import Response

from rememberer import schemas
from rememberer.api.common import ERRORS, Cursor, Limit, RecordId, TaskFilter, v1_router
from rememberer.api.deps import MemoryDep, ServicesDep, SessionDep
from rememberer.interop import bulk
from rememberer.memories import records

router = v1_router()


@router.get(
    "/memories/{memory}/records", response_model=schemas.Page[schemas.Record], responses=ERRORS
)
async def list_records(
    memory: MemoryDep,
    session: SessionDep,
    task: TaskFilter = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> schemas.Page[schemas.Record]:
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


@router.post("/memories/{memory}/records", response_model=schemas.RecordsUpserted, responses=ERRORS)
async def upsert_records(
    body: schemas.RecordsUpsert, memory: MemoryDep, session: SessionDep, services: ServicesDep
) -> schemas.RecordsUpserted:
    """Creates or replaces records with their action values, in one transaction (imports)."""
    return await bulk.upsert_records(session, memory, services.vectors, services.search, body)
