"""Pages of episodes (the list, one trajectory step by step) and of reflections."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from rememberer.api.deps import SessionDep
from rememberer.ui import episode_queries
from rememberer.ui.rendering import render, services_from, visible_memory
from rememberer.ui.security import ViewerDep

router = APIRouter(prefix="/ui", include_in_schema=False)

MAX_TEXT = 10_000
TaskParam = Annotated[str | None, Query(max_length=MAX_TEXT)]
_DONE = {"finished": True, "open": False, "": None}


@router.get("/memories/{memory}/episodes", response_class=HTMLResponse)
async def episodes_page(
    request: Request,
    memory: str,
    viewer: ViewerDep,
    session: SessionDep,
    task: TaskParam = None,
    state: Literal["finished", "open", ""] = "",
    after: Annotated[str | None, Query(max_length=2000)] = None,
) -> HTMLResponse:
    info = await visible_memory(session, services_from(request), viewer, memory)
    task = task or None
    page = await episode_queries.list_episodes(session, info, task, _DONE[state], after)
    return render(request, "episodes.html", viewer, memory=info, page=page, task=task, state=state)


@router.get("/memories/{memory}/episode", response_class=HTMLResponse)
async def episode_page(
    request: Request,
    memory: str,
    viewer: ViewerDep,
    session: SessionDep,
    episode_id: Annotated[str, Query(alias="id", max_length=1000)],
) -> HTMLResponse:
    """One episode, addressed by a query parameter: episode ids are the agent's own text."""
    info = await visible_memory(session, services_from(request), viewer, memory)
    episode, steps = await episode_queries.get_episode(session, info, episode_id)
    return render(request, "episode.html", viewer, memory=info, episode=episode, steps=steps)


@router.get("/memories/{memory}/reflections", response_class=HTMLResponse)
async def reflections_page(
    request: Request, memory: str, viewer: ViewerDep, session: SessionDep, task: TaskParam = None
) -> HTMLResponse:
    info = await visible_memory(session, services_from(request), viewer, memory)
    task = task or None
    reflections = await episode_queries.list_reflections(session, info, task)
    return render(
        request, "reflections.html", viewer, memory=info, reflections=reflections, task=task
    )
