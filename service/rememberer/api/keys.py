"""`/v1/keys`: the admin mints keys scoped to memories, lists and revokes them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from rememberer import schemas
from rememberer.api.auth import require_admin
from rememberer.api.common import ERRORS, Cursor, Limit
from rememberer.api.deps import SessionDep, reject_unknown_query
from rememberer.memories import access

router = APIRouter(
    prefix="/v1",
    tags=["keys"],
    dependencies=[Depends(require_admin), Depends(reject_unknown_query)],
)

KeyId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post(
    "/keys",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.KeyCreated,
    responses=ERRORS,
)
async def create_key(body: schemas.KeyCreate, session: SessionDep) -> schemas.KeyCreated:
    return await access.create_key(session, body)


@router.get("/keys", response_model=schemas.Page[schemas.ApiKey], responses=ERRORS)
async def list_keys(
    session: SessionDep, limit: Limit = 100, cursor: Cursor = None
) -> schemas.Page[schemas.ApiKey]:
    return await access.list_keys(session, limit, cursor)


@router.delete("/keys/{key_id}", status_code=204, responses=ERRORS)
async def revoke_key(key_id: KeyId, session: SessionDep) -> Response:
    await access.revoke_key(session, key_id)
    return Response(status_code=204)
