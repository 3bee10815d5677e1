"""Templates (autoescaped, every one of them) and the helpers every page uses."""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer.api.deps import Services
from rememberer.errors import MemoryNotFound
from rememberer.memories.catalog import MemoryInfo
from rememberer.ui.security import PageError, Viewer

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def number(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}" if math.isfinite(value) else str(value)


def moment(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def query_value(value: object) -> str:
    """A value for a URL's query string: everything but unreserved characters escaped."""
    return quote(str(value), safe="")


@lru_cache(maxsize=1)
def environment() -> Environment:
    # autoescape=True for every template whatever its name: all of them show agents' text.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = number
    env.filters["moment"] = moment
    env.filters["q"] = query_value
    return env


def render(
    request: Request, template: str, viewer: Viewer | None, status: int = 200, **context: Any
) -> HTMLResponse:
    page = environment().get_template(template)
    html = page.render(request=request, viewer=viewer, status=status, **context)
    return HTMLResponse(html, status_code=status)


def services_from(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def visible_memory(
    session: AsyncSession, services: Services, viewer: Viewer, name: str
) -> MemoryInfo:
    """The memory, if the viewer's key may see it; else 404 exactly as for a missing one."""
    if not viewer.principal.may_use(name):
        raise PageError(404, "no such memory")
    try:
        return await services.memories.find(session, name)
    except MemoryNotFound as exc:
        raise PageError(404, "no such memory") from exc
