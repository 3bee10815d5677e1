"""API keys and who may do what.

Without an admin key (`REMEMBERER_ADMIN_KEY`) the service is open: every caller acts as the
admin. With one, every `/v1` request carries `Authorization: Bearer <key>`. The admin key can
do everything; a key minted by `POST /v1/keys` acts only on the memories it names (by name, so
it also covers a memory of that name created later). Minted keys are stored only as their
sha256: a stolen database does not hand out working keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from pydantic import SecretStr
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import schemas
from rememberer.errors import KeyNotFound, Unauthorized, Unprocessable
from rememberer.storage.models import ApiKeyRow
from rememberer.storage.pagination import BAD_CURSOR, decode_cursor, encode_cursor

KEY_PREFIX = "rmb_"
# Longer bearer strings are not keys this service issued; refusing them early bounds the work.
MAX_KEY_CHARS = 256


@dataclass(frozen=True)
class Principal:
    """Who is calling: the admin (every memory) or a scoped key (its memories only)."""

    key_id: int | None
    memories: frozenset[str] | None

    @property
    def is_admin(self) -> bool:
        return self.memories is None

    def may_use(self, memory: str) -> bool:
        return self.memories is None or memory in self.memories


ADMIN = Principal(key_id=None, memories=None)


def mint_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", errors="surrogateescape")).digest()


async def identify(
    session: AsyncSession, admin_key: SecretStr | None, presented: str | None
) -> Principal:
    """The caller behind a bearer key; raises Unauthorized for a missing or unknown key."""
    if admin_key is None:
        return ADMIN
    if not presented:
        raise Unauthorized("this service needs an API key: send Authorization: Bearer <key>")
    if len(presented) > MAX_KEY_CHARS:
        raise Unauthorized("unknown API key")
    digest = key_hash(presented)
    # Comparing digests keeps the comparison's time independent of the admin key's length.
    if hmac.compare_digest(digest, key_hash(admin_key.get_secret_value())):
        return ADMIN
    row = (
        await session.execute(
            select(ApiKeyRow.id, ApiKeyRow.memories).where(ApiKeyRow.key_sha256 == digest)
        )
    ).one_or_none()
    if row is None:
        raise Unauthorized("unknown or revoked API key")
    return Principal(key_id=row.id, memories=frozenset(row.memories))


def _key_out(row: ApiKeyRow) -> schemas.ApiKey:
    return schemas.ApiKey(
        id=row.id, name=row.name, memories=list(row.memories), created_at=row.created_at
    )


async def create_key(session: AsyncSession, body: schemas.KeyCreate) -> schemas.KeyCreated:
    key = mint_key()
    row = ApiKeyRow(name=body.name, key_sha256=key_hash(key), memories=sorted(set(body.memories)))
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return schemas.KeyCreated(**_key_out(row).model_dump(), key=key)


async def list_keys(
    session: AsyncSession, limit: int, cursor: str | None
) -> schemas.Page[schemas.ApiKey]:
    after = decode_cursor(cursor) if cursor is not None else 0
    if not isinstance(after, int):
        raise Unprocessable(BAD_CURSOR)
    query = select(ApiKeyRow).where(ApiKeyRow.id > after).order_by(ApiKeyRow.id).limit(limit + 1)
    rows = list(await session.scalars(query))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return schemas.Page(items=[_key_out(row) for row in rows[:limit]], next_cursor=next_cursor)


async def revoke_key(session: AsyncSession, key_id: int) -> None:
    deleted = await session.execute(
        delete(ApiKeyRow).where(ApiKeyRow.id == key_id).returning(ApiKeyRow.id)
    )
    if deleted.one_or_none() is None:
        raise KeyNotFound(key_id)
    await session.commit()
