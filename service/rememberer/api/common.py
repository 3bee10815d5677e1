"""What every v1 route shares: the router with its guards, the errors it documents, and the
parameter types that several resources take."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AfterValidator

from rememberer import schemas
from rememberer.api.auth import authorize
from rememberer.api.deps import reject_unknown_query

# A query string has to fit in the server's request-line buffer (16 KiB in uvicorn), even
# with every character percent-encoded as 4 UTF-8 bytes.
MAX_TASK_FILTER_CHARS = 1_000
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": schemas.ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422)
}

Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=200)]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
TaskFilter = Annotated[
    Annotated[str, AfterValidator(schemas.reject_nul)] | None,
    Query(max_length=MAX_TASK_FILTER_CHARS, description="only this task"),
]


def v1_router() -> APIRouter:
    """A router under /v1 whose routes need a key (when keys are configured) and refuse
    query parameters they do not declare."""
    return APIRouter(prefix="/v1", dependencies=[Depends(authorize), Depends(reject_unknown_query)])
