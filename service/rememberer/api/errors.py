"""Every error as the contract's body `{"error": {"code", "message"}}`: domain errors with
their own status, validation errors as 422, and database errors by their SQLSTATE.

Database errors: only transient conditions answer 503 with Retry-After (the SDK retries
those): a lost or refused connection (class 08, or a driver error with no SQLSTATE), the
server out of resources (class 53), shut down or starting (57P01–57P03), a serialization
failure or deadlock that survived the writers' retries (40001, 40P01), and no pooled
connection becoming free. A value the database cannot take (class 22) is the client's 422;
a row deleted meanwhile by a concurrent request (23503) is a 404 or 409. Anything else is
a bug, not a condition that passes: 500, logged with the request id, and not retried.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import InterfaceError, OperationalError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from rememberer.api.request_errors import describe_validation, trailing_slash_hint
from rememberer.errors import Conflict, MemoryNotFound, RemembererError, Unavailable
from rememberer.observability import REQUEST_ID, REQUEST_ID_HEADER
from rememberer.storage.transactions import RETRYABLE_SQLSTATES, sqlstate

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

FOREIGN_KEY_VIOLATION = "23503"
DATA_EXCEPTION_CLASS = "22"
# Connection exceptions; insufficient resources (disk full, out of memory, too many
# connections).
TRANSIENT_CLASSES = ("08", "53")
# admin_shutdown, crash_shutdown, cannot_connect_now (the server is starting).
TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03"}) | RETRYABLE_SQLSTATES
INTERNAL_ERROR = "internal error; it has been logged"


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def is_transient(exc: DBAPIError) -> bool:
    """Whether the database error is a condition that passes, worth retrying later."""
    state = sqlstate(exc)
    if state is None:
        # The driver's own failures without a server answer: a connection lost or closed.
        return exc.connection_invalidated or isinstance(exc.orig, OperationalError | InterfaceError)
    return state.startswith(TRANSIENT_CLASSES) or state in TRANSIENT_SQLSTATES


def _deleted_meanwhile(request: Request, exc: DBAPIError) -> RemembererError:
    """A write that referred to a row deleted by a concurrent request: its memory (every
    table's memory_id references memories), else the row it names."""
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
    memory = request.path_params.get("memory")
    if constraint.endswith("memory_id_fkey") and isinstance(memory, str):
        return MemoryNotFound(memory)
    return Conflict(f"a row this request refers to was deleted meanwhile ({constraint}); retry")


def domain_response(exc: RemembererError) -> JSONResponse:
    return JSONResponse(status_code=exc.status_code, content=exc.body(), headers=exc.headers)


def internal_error() -> JSONResponse:
    response = error_response(500, "internal_error", INTERNAL_ERROR)
    # Answered outside the request middleware, which cannot add the id to this one.
    request_id = REQUEST_ID.get()
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


def database_error_response(request: Request, exc: DBAPIError) -> JSONResponse:
    """The answer to a database error, by its SQLSTATE (module docstring)."""
    state = sqlstate(exc) or ""
    if state.startswith(DATA_EXCEPTION_CLASS):  # a value the database cannot take
        return error_response(422, "invalid_request", f"invalid value: {exc.orig}")
    if state == FOREIGN_KEY_VIOLATION:
        return domain_response(_deleted_meanwhile(request, exc))
    if is_transient(exc):
        logger.warning("database unavailable (SQLSTATE %s): %s", state or "none", exc.orig)
        return domain_response(Unavailable("the database is unavailable; retry later"))
    # The log line carries the request id (observability.RequestIdFilter), as does the answer.
    logger.error("database error (SQLSTATE %s)", state or "none", exc_info=exc)
    return internal_error()


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RemembererError)
    async def _domain(_: Request, exc: RemembererError) -> JSONResponse:
        return domain_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", describe_validation(request, exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = str(exc.detail)
        if exc.status_code == 404:
            message = trailing_slash_hint(app, request) or message
        return error_response(exc.status_code, code, message)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        return database_error_response(request, exc)

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(_: Request, exc: PoolTimeout) -> JSONResponse:
        logger.warning("no database connection became free: %s", exc)
        return domain_response(
            Unavailable("the service is busy (no database connection became free); retry")
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled error", exc_info=exc)
        return internal_error()
