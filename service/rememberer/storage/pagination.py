"""Cursor pagination: a page ends with an opaque cursor that names the last key it showed."""

from __future__ import annotations

import base64
import json

from rememberer import schemas
from rememberer.errors import Unprocessable

BAD_CURSOR = "cursor is not one this service issued; pass next_cursor as is"


def encode_cursor(value: str | int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": value}).encode()).decode()


def decode_cursor(cursor: str) -> str | int:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))["after"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Unprocessable(BAD_CURSOR) from exc
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Unprocessable(BAD_CURSOR)
    # A tampered cursor must not reach the database as text it cannot store, or a number
    # outside its bigint keys.
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise Unprocessable(BAD_CURSOR)
    if isinstance(value, str):
        try:
            schemas.reject_nul(value)
        except ValueError as exc:
            raise Unprocessable(BAD_CURSOR) from exc
    return value
