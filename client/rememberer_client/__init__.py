"""Python client of the Rememberer experience-memory service.

>>> from rememberer_client import MemoryClient, format_exemplars
>>> with MemoryClient() as client:  # doctest: +SKIP
...     memory = client.memory("webshop")
...     prompt_examples = format_exemplars(memory.retrieve(task, observation))
...     with memory.episode(task) as ep:
...         ep.step(observation, action, reward, next_observation, done=True)
"""

import contextlib as _contextlib

from ._async_client import AsyncMemoryClient, AsyncMemoryHandle
from ._async_episode import AsyncEpisode
from ._base import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ._client import MemoryClient, MemoryHandle
from ._episode import Episode
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    EpisodeFinishedError,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RemembererError,
    RequestTooLargeError,
    UnprocessableEntityError,
)
from ._format import format_exemplars
from ._models import (
    ActionValue,
    ApiKey,
    CreatedKey,
    EpisodeDetail,
    EpisodeState,
    EpisodeSummary,
    EpisodeTransition,
    Exemplar,
    Memory,
    Page,
    Record,
    RecordItem,
    Reflection,
    ReflectionDetail,
    ReflectionUse,
    Retrieval,
    Transition,
    UpdatedValue,
    UpdateResult,
    UpsertedRecord,
    UpsertResult,
)
from ._retries import RetryEvent, RetryStats
from ._types import (
    NOT_GIVEN,
    ActionHistoryMode,
    ExportFormat,
    MemorySettings,
    NotGiven,
    ObservationSimilarity,
    TaskFilter,
    UpdateMode,
)
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "ActionHistoryMode",
    "ActionValue",
    "ApiKey",
    "AsyncEpisode",
    "AsyncMemoryClient",
    "AsyncMemoryHandle",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "CreatedKey",
    "Episode",
    "EpisodeDetail",
    "EpisodeFinishedError",
    "EpisodeState",
    "EpisodeSummary",
    "EpisodeTransition",
    "Exemplar",
    "ExportFormat",
    "InternalServerError",
    "InvalidArgumentError",
    "Memory",
    "MemoryClient",
    "MemoryHandle",
    "MemorySettings",
    "NotFoundError",
    "NotGiven",
    "ObservationSimilarity",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "Record",
    "RecordItem",
    "Reflection",
    "ReflectionDetail",
    "ReflectionUse",
    "RemembererError",
    "RequestTooLargeError",
    "Retrieval",
    "RetryEvent",
    "RetryStats",
    "TaskFilter",
    "Transition",
    "UnprocessableEntityError",
    "UpdateMode",
    "UpdateResult",
    "UpdatedValue",
    "UpsertResult",
    "UpsertedRecord",
    "__version__",
    "format_exemplars",
]

# Objects report the public package as their home, so reprs and docs hide the private
# module layout (the same trick httpx and openai use).
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("rememberer_client._"):
        with _contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "rememberer_client"
del _name, _obj, _contextlib
