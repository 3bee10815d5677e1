"""`/v1/memories/{memory}/reflections`: Retroformer's lessons, their ratings and exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from rememberer import schemas
from rememberer.api.common import ERRORS, Cursor, Limit, TaskFilter, v1_router
from rememberer.api.deps import MemoryDep, SessionDep
from rememberer.learning import reflections

router = v1_router()
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
