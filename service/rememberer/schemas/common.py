"""What every wire model shares: text bounds, strictness, pages and the error body.

Every bound here exists so that hostile or mistaken input is answered with a 422, never
stored and never allowed to reach the database as a 500.
"""

from __future__ import annotations

import math
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_TEXT_CHARS = 100_000
MAX_ACTION_CHARS = 2_000
MAX_TRANSITIONS_PER_CALL = 1_000
MAX_K = 100
MAX_DIMENSION = 1_000
DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
CLIENT_EMBEDDER = "client"
MEMORY_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
MAX_REFLECTION_IDS = 100


def reject_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL, nor UTF-8 a lone surrogate (JSON can spell one as
    # "\ud800"); refusing them here keeps them a 422 instead of a 500.
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from exc
    return value


def finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("number must be finite")
    return value


Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS), AfterValidator(reject_nul)]
ActionText = Annotated[
    str, Field(min_length=1, max_length=MAX_ACTION_CHARS), AfterValidator(reject_nul)
]
Finite = Annotated[float, AfterValidator(finite), Field(ge=-1e12, le=1e12)]
MemoryName = Annotated[str, Field(pattern=MEMORY_NAME_PATTERN)]
EpisodeId = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(reject_nul)]
ReflectionId = Annotated[int, Field(ge=1, le=2**63 - 1)]

UpdateMode = Literal["mean", "const"]
ActionHistoryMode = Literal["shortest", "longest", "newest", "oldest"]
ObservationSimilarity = Literal["embedding", "lcs"]
# The bundled model (DEFAULT_EMBEDDER) or vectors the client stores itself.
EmbedderName = Literal["all-MiniLM-L6-v2", "client"]


class StrictModel(BaseModel):
    # strict: a wrong JSON type is a 422, not coerced ("0.5" is no number, "yes" no bool).
    # A field with an alias takes only the alias: "lambda_" is an unknown field, as the
    # contract has none of that name.
    model_config = ConfigDict(extra="forbid", strict=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


# --- API keys ---------------------------------------------------------------------------
