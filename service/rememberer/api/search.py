"""`/v1/memories/{memory}/embeddings` and `/retrieve`: the vectors clients bring, and the
exemplars an agent is shown."""

from __future__ import annotations

import time

from rememberer import schemas
from rememberer.api.common import ERRORS, v1_router
from rememberer.api.deps import MemoryDep, ServicesDep, SessionDep
from rememberer.learning import reflections
from rememberer.search import retrieval
from rememberer.search.query import SearchQuery

router = v1_router()


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
    query = SearchQuery(
        vectors[body.task],
        vectors[body.observation],
        k=body.k,
        lambda_=lambda_,
        observation_text=body.observation,
        min_score=body.min_score,
        task_filter=body.task_filter,
        task=body.task,
    )
    exemplars = await retrieval.retrieve(session, memory, query, services.search)
    services.metrics.retrieval_latency.observe(time.perf_counter() - started)
    answer = schemas.RetrieveResponse(exemplars=exemplars)
    if body.reflections:
        answer.reflections = await reflections.newest_for_task(
            session, memory, body.task, body.reflections
        )
    await session.commit()
    return answer
