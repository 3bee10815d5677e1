"""`/v1/memories/{memory}/update`: an episode's transitions teach the memory (RLEM)."""

from __future__ import annotations

from rememberer import schemas
from rememberer.api.common import ERRORS, v1_router
from rememberer.api.deps import MemoryDep, ServicesDep, SessionDep
from rememberer.learning import rlem

router = v1_router()


@router.post("/memories/{memory}/update", response_model=schemas.UpdateResponse, responses=ERRORS)
async def update(
    body: schemas.UpdateRequest, memory: MemoryDep, session: SessionDep, services: ServicesDep
) -> schemas.UpdateResponse:
    updater = rlem.Updater(session, memory, services.vectors, services.search)
    response = await updater.run(body)
    services.metrics.count_updates(updater.applied_transitions, updater.applied_values)
    return response
