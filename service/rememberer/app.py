"""The FastAPI application: lifespan (engine, embedder), error mapping, health routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from rememberer import __version__, ui
from rememberer.api import keys, learning, memories, records, reflections, search
from rememberer.api.auth import AuthenticationMiddleware, document_bearer_auth
from rememberer.api.deps import Services
from rememberer.api.limits import BodyLimitMiddleware
from rememberer.api.stats import router as stats_router
from rememberer.config import Settings, get_settings
from rememberer.embedding.embedder import SentenceEmbedder
from rememberer.errors import Conflict, MemoryNotFound, RemembererError, Unavailable
from rememberer.memories.catalog import MemoryCache
from rememberer.observability import (
    REQUEST_ID,
    REQUEST_ID_HEADER,
    Metrics,
    RequestMiddleware,
    configure_logging,
)
from rememberer.search.indexing import IndexBuilder
from rememberer.search.retrieval import SearchParams
from rememberer.search.vectors import VectorStore
from rememberer.storage.db import create_engine, create_sessionmaker
from rememberer.storage.migrate import current_revision, head_revision

logger = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is invalid"


FOREIGN_KEY_VIOLATION = "23503"


def _deleted_meanwhile(request: Request, exc: DBAPIError) -> RemembererError:
    """A write that referred to a row deleted by a concurrent request: its memory (every
    table's memory_id references memories), else the row it names."""
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
    memory = request.path_params.get("memory")
    if constraint.endswith("memory_id_fkey") and isinstance(memory, str):
        return MemoryNotFound(memory)
    return Conflict(f"a row this request refers to was deleted meanwhile ({constraint}); retry")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RemembererError)
    async def _domain(_: Request, exc: RemembererError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content=exc.body(), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        sqlstate = getattr(exc.orig, "sqlstate", None) or ""
        if sqlstate.startswith("22"):  # data exception: a value the database cannot take
            return error_response(422, "invalid_request", f"invalid value: {exc.orig}")
        if sqlstate == FOREIGN_KEY_VIOLATION:
            return await _domain(request, _deleted_meanwhile(request, exc))
        logger.exception("database error")
        return await _domain(request, Unavailable("the database is unavailable; retry later"))

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> JSONResponse:
        logger.warning("no database connection became free: %s", exc)
        busy = Unavailable("the service is busy (no database connection became free); retry")
        return await _domain(request, busy)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        response = error_response(500, "internal_error", "internal error; it has been logged")
        # Answered outside the request middleware, which cannot add the id to this one.
        request_id = REQUEST_ID.get()
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response


def create_worker_app() -> FastAPI:
    """The app of one of several uvicorn worker processes (REMEMBERER_WORKERS > 1). They are
    spawned afresh, without the logging the parent configured: each sets up its own."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


def create_app(settings: Settings | None = None, database_url: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    url = database_url or settings.database_url
    if not url:
        raise RuntimeError("create_app needs a database URL (REMEMBERER_DATABASE_URL)")
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(url, settings)
        embedder = SentenceEmbedder(
            settings.embedding_model_path,
            settings.embed_batch_size,
            settings.embed_threads,
            settings.embedder_backend,
            settings.cache_dir,
        )
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        vectors = VectorStore(embedder)
        indexes = IndexBuilder(engine)
        metrics.watch_embedding_cache(vectors.stats)
        app.state.services = Services(
            settings=settings,
            vectors=vectors,
            search=SearchParams(
                settings.exact_search_max_records, settings.hnsw_ef_search, indexes
            ),
            memories=MemoryCache(settings.memory_cache_seconds),
            metrics=metrics,
        )
        try:
            yield
        finally:
            await embedder.aclose()
            await indexes.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Rememberer",
        version=__version__,
        summary="Experience memory for LLM agents: retrieval of exemplars and n-step Q-learning",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for resource in (memories, search, learning, records, reflections):
        app.include_router(resource.router)
    app.include_router(keys.router)
    app.include_router(stats_router)
    if settings.admin_key is not None:
        document_bearer_auth(app)
    ui.mount(app, settings)
    # The last added is the outermost: every answer, a 413 too, gets its request id.
    app.add_middleware(AuthenticationMiddleware, admin_key=settings.admin_key)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMiddleware, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"model": dict[str, str]}})
    async def readyz(request: Request) -> JSONResponse:
        try:
            async with request.app.state.engine.connect() as connection:
                revision = await connection.run_sync(current_revision)
                await connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready", with the reason
            return JSONResponse(status_code=503, content={"status": f"database unreachable: {exc}"})
        if revision != head_revision():
            return JSONResponse(
                status_code=503,
                content={"status": f"migrations pending: at {revision}, need {head_revision()}"},
            )
        return JSONResponse(content={"status": "ready"})

    return app
