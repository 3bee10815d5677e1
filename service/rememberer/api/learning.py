"""`/v1/memories/{memory}/update`: an episode's transitions teach the memory (RLEM)."""

from __future__ import annotations

from rememberer import schemas
from rememberer.api.common import ERRORS, v1_router
from rememberer.api.deps import MemoryDep, ServicesDep, SessionDep
from rememberer.learning.updater import Updater

router = v1_router()


@router.post("/memories/{memory}/update", response_model=schemas.UpdateResponse, responses=ERRORS)
async def update(
    body: schemas.UpdateRequest, memory: MemoryDep, session: SessionDep, services: ServicesDep
) -> schemas.UpdateResponse:
    result = await Updater(session, memory, services.vectors, services.search).run(body)
    services.metrics.count_updates(result.applied_transitions, result.applied_values)
    return result.response
