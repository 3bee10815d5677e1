"""Pages of memories and their records: the list, one memory's overview (learning curve,
tasks), the records table, one record, and the retrieve playground."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from rememberer import schemas
from rememberer.api import search as search_api
from rememberer.api.deps import SessionDep
from rememberer.errors import RecordNotFound, RemembererError
from rememberer.memories import records as record_store
from rememberer.ui import memory_queries, plots, records_queries
from rememberer.ui.rendering import render, services_from, visible_memory
from rememberer.ui.security import PageError, ViewerDep

router = APIRouter(prefix="/ui", include_in_schema=False)

MAX_TEXT = 10_000
TaskParam = Annotated[str | None, Query(max_length=MAX_TEXT)]


@router.get("", response_class=HTMLResponse)
async def memories_page(request: Request, viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
    summaries = await memory_queries.memory_summaries(session, viewer.principal.memories)
    return render(request, "memories.html", viewer, memories=summaries)


@router.get("/memories/{memory}", response_class=HTMLResponse)
async def memory_page(
    request: Request, memory: str, viewer: ViewerDep, session: SessionDep, task: TaskParam = None
) -> HTMLResponse:
    info = await visible_memory(session, services_from(request), viewer, memory)
    task = task or None
    summary = await memory_queries.memory_summary(session, info)
    returns = await memory_queries.learning_curve(session, info, task)
    tasks = await memory_queries.known_tasks(session, info)
    return render(
        request,
        "memory.html",
        viewer,
        memory=summary,
        chart=plots.learning_curve(returns),
        task=task,
        tasks=tasks,
    )


@router.get("/memories/{memory}/records", response_class=HTMLResponse)
async def records_page(
    request: Request,
    memory: str,
    viewer: ViewerDep,
    session: SessionDep,
    search: Annotated[str, Query(max_length=records_queries.MAX_SEARCH_CHARS)] = "",
    sort: records_queries.Sort = "newest",
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    info = await visible_memory(session, services_from(request), viewer, memory)
    page = await records_queries.list_records(session, info, search.strip(), sort, after)
    return render(
        request,
        "records.html",
        viewer,
        memory=info,
        page=page,
        search=search.strip(),
        sort=sort,
        sorts=records_queries.SORTS,
        after=after,
    )


@router.get("/memories/{memory}/records/{record_id}", response_class=HTMLResponse)
async def record_page(
    request: Request, memory: str, record_id: int, viewer: ViewerDep, session: SessionDep
) -> HTMLResponse:
    services = services_from(request)
    info = await visible_memory(session, services, viewer, memory)
    try:
        record = await record_store.get_record(session, info, record_id)
    except RecordNotFound as exc:
        raise PageError(404, "no such record in this memory") from exc
    nearest = await records_queries.nearest_records(session, info, record, services.search)
    return render(request, "record.html", viewer, memory=info, record=record, nearest=nearest)


def _retrieve_request(
    task: str, observation: str, k: int, lambda_: float | None
) -> schemas.RetrieveRequest:
    try:
        return schemas.RetrieveRequest.model_validate(
            {"task": task, "observation": observation, "k": k, "lambda": lambda_}
        )
    except ValidationError as exc:
        reasons = "; ".join(str(error["msg"]) for error in exc.errors()[:3])
        raise PageError(422, f"the query is not valid: {reasons}") from exc


@router.get("/memories/{memory}/retrieve", response_class=HTMLResponse)
async def retrieve_page(
    request: Request,
    memory: str,
    viewer: ViewerDep,
    session: SessionDep,
    task: Annotated[str, Query(max_length=MAX_TEXT)] = "",
    observation: Annotated[str, Query(max_length=MAX_TEXT)] = "",
    k: Annotated[int, Query(ge=1, le=schemas.MAX_K)] = 5,
    lambda_: Annotated[float | None, Query(alias="lambda", ge=0.0, le=1.0)] = None,
) -> HTMLResponse:
    """Answers exactly what POST /v1/memories/{memory}/retrieve answers: it runs that
    route's own function with the same request body."""
    services = services_from(request)
    info = await visible_memory(session, services, viewer, memory)
    chosen = info.lambda_ if lambda_ is None else lambda_
    answer, problem = None, None
    if task and observation:
        body = _retrieve_request(task, observation, k, chosen)
        try:
            answer = await search_api.retrieve(body, info, session, services)
        except RemembererError as exc:
            problem = exc.message
    return render(
        request,
        "retrieve.html",
        viewer,
        memory=info,
        task=task,
        observation=observation,
        k=k,
        lambda_=chosen,
        answer=answer,
        problem=problem,
    )
