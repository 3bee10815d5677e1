"""Request-scoped dependencies: the session, the app's services, the addressed memory.

Who commits: the route owns the transaction. Domain functions run inside the session they are
given and never commit, except the writers that retry a whole transaction on a serialization
failure (rememberer.storage.transactions), which own theirs from start to commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rememberer.config import Settings
from rememberer.errors import Unprocessable
from rememberer.memories.catalog import MemoryCache, MemoryInfo
from rememberer.observability import Metrics
from rememberer.schemas import MEMORY_NAME_PATTERN
from rememberer.search.retrieval import SearchParams
from rememberer.search.vectors import VectorStore

# Every dependency is `async def`: FastAPI runs plain `def` ones in a thread pool, and the
# hand-offs of the GIL to and from those threads cost more than the functions themselves.


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


@dataclass(frozen=True)
class Services:
    settings: Settings
    vectors: VectorStore
    search: SearchParams
    memories: MemoryCache
    metrics: Metrics = field(default_factory=Metrics)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]
MemoryName = Annotated[str, Path(pattern=MEMORY_NAME_PATTERN, description="memory name")]


async def get_memory(memory: MemoryName, session: SessionDep, services: ServicesDep) -> MemoryInfo:
    return await services.memories.find(session, memory)


MemoryDep = Annotated[MemoryInfo, Depends(get_memory)]


def declared_query(route: APIRoute) -> frozenset[str]:
    """The query parameters a route (with its dependencies) takes."""
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(field.alias for field in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


async def reject_unknown_query(request: Request) -> None:
    """A misspelt or made-up query parameter is a 422, not silently ignored."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared = declared_query(route)  # a walk over a handful of nodes: not worth a cache
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        shown = ", ".join(repr(name[:50]) for name in unknown[:5])
        takes = ", ".join(sorted(declared)) or "none"
        raise Unprocessable(f"unknown query parameter(s) {shown}; this endpoint takes: {takes}")
