"""The FastAPI application: lifespan (engine, embedder), routers, middleware, health routes;
errors are mapped to answers in rememberer.api.errors."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.routing import Route

from rememberer import __version__, ui
from rememberer.api import episodes, keys, learning, memories, records, reflections, search
from rememberer.api.auth import AuthenticationMiddleware, document_bearer_auth
from rememberer.api.deps import Services
from rememberer.api.descriptions import describe_operations
from rememberer.api.docs import install_docs
from rememberer.api.errors import install_error_handlers
from rememberer.api.limits import BodyLimitMiddleware
from rememberer.api.stats import router as stats_router
from rememberer.config import Settings, get_settings
from rememberer.embedding.embedder import SentenceEmbedder
from rememberer.mcp_server.http import McpEndpoint
from rememberer.memories.catalog import MemoryCache
from rememberer.observability import (
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


def create_worker_app() -> FastAPI:
    """The app of one of several uvicorn worker processes (REMEMBERER_WORKERS > 1). They are
    spawned afresh, without the logging the parent configured: each sets up its own."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


def warm_up(embedder: SentenceEmbedder, app: FastAPI) -> None:
    """Loads (converting on the first run) the embedder in a daemon thread, so that /readyz
    turns ready only once an embedding request would not stall on it; a daemon, so that a
    service stopped meanwhile does not wait for it."""

    def load() -> None:
        try:
            embedder.load()
        except Exception as exc:  # retried by the first request that needs it
            logger.exception("the embedder could not be loaded")
            app.state.embedder_error = f"embedder unavailable: {exc}"

    app.state.embedder_error = None
    threading.Thread(target=load, name="embedder-warm-up", daemon=True).start()


def _lifespan(
    settings: Settings, url: str, metrics: Metrics, mcp: McpEndpoint, warm_embedder: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's resources: the engine, the embedder, vector store and index builder, held
    in app.state from startup to shutdown."""

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
        app.state.embedder = embedder
        if warm_embedder:
            warm_up(embedder, app)
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
            async with mcp.running(app):
                yield
        finally:
            await embedder.aclose()
            await indexes.aclose()
            await engine.dispose()

    return lifespan


def install_health_routes(app: FastAPI, metrics: Metrics, warm_embedder: bool) -> None:
    """/metrics, /healthz (the process answers) and /readyz (the database reachable, its
    migrations current, the embedder loaded)."""

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
        except Exception:  # any failure means "not ready"; the reason goes to the log only
            logger.warning("readiness check failed: database unreachable", exc_info=True)
            return JSONResponse(status_code=503, content={"status": "database unreachable"})
        if revision != head_revision():
            return JSONResponse(
                status_code=503,
                content={"status": f"migrations pending: at {revision}, need {head_revision()}"},
            )
        if warm_embedder and not request.app.state.embedder.loaded:
            status = request.app.state.embedder_error or "embedder loading"
            return JSONResponse(status_code=503, content={"status": status})
        return JSONResponse(content={"status": "ready"})


def create_app(
    settings: Settings | None = None, database_url: str | None = None, *, warm_embedder: bool = True
) -> FastAPI:
    settings = settings or get_settings()
    url = database_url or settings.database_url
    if not url:
        raise RuntimeError("create_app needs a database URL (REMEMBERER_DATABASE_URL)")
    metrics = Metrics()
    mcp = McpEndpoint(settings)
    lifespan = _lifespan(settings, url, metrics, mcp, warm_embedder)

    app = FastAPI(
        title="Rememberer",
        version=__version__,
        summary="Experience memory for LLM agents: retrieval of exemplars and n-step Q-learning",
        lifespan=lifespan,
        # A trailing slash gets a 404 saying to drop it (api.request_errors), not an empty 307.
        redirect_slashes=False,
        docs_url=None,  # served by install_docs, from local files
        redoc_url=None,
    )
    install_docs(app)
    install_error_handlers(app)
    for resource in (memories, search, learning, episodes, records, reflections):
        app.include_router(resource.router)
    app.include_router(keys.router)
    app.include_router(stats_router)
    app.router.routes.append(Route("/mcp", mcp))  # MCP over Streamable HTTP (an ASGI app)
    if settings.admin_key is not None:
        document_bearer_auth(app)
    ui.mount(app, settings)
    # The last added is the outermost: every answer, a 413 too, gets its request id.
    app.add_middleware(AuthenticationMiddleware, admin_key=settings.admin_key)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMiddleware, metrics=metrics)

    install_health_routes(app, metrics, warm_embedder)
    describe_operations(app)
    return app
