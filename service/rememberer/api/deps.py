"""Request-scoped dependencies: the session, the app's services, the addressed memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Path, Request

from rememberer.config import Settings
from rememberer.db import SessionDep
from rememberer.memories import MemoryInfo, find_memory
from rememberer.observability import Metrics
from rememberer.retrieval import SearchParams
from rememberer.schemas import MEMORY_NAME_PATTERN
from rememberer.vectors import VectorStore


@dataclass(frozen=True)
class Services:
    settings: Settings
    vectors: VectorStore
    search: SearchParams
    metrics: Metrics = field(default_factory=Metrics)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
MemoryName = Annotated[str, Path(pattern=MEMORY_NAME_PATTERN, description="memory name")]


async def get_memory(memory: MemoryName, session: SessionDep) -> MemoryInfo:
    return await find_memory(session, memory)


MemoryDep = Annotated[MemoryInfo, Depends(get_memory)]
