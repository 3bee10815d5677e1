"""State and policy shared by the sync and async clients.

:class:`BaseClient` owns everything that does not depend on how bytes move: the base
URL, headers, timeouts, the request of every endpoint, response parsing, error mapping
and retry decisions. The sync and async clients only send requests and sleep.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    UnprocessableEntityError,
)
from ._models import (
    ApiKey,
    CreatedKey,
    EpisodeDetail,
    EpisodeSummary,
    Exemplar,
    Memory,
    Page,
    Record,
    RecordItem,
    Reflection,
    ReflectionDetail,
    Retrieval,
    Transition,
    UpdateResult,
    UpsertResult,
    _EmbeddingsStored,
    _RetrieveResponse,
)
from ._retries import RetryEvent, RetryHook, RetryStats
from ._types import ExportFormat, MemorySettings, NotGiven, TaskFilter, TimeoutTypes
from ._validation import check_argument, strict_arguments, validate_model
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "BaseClient",
    "RequestSpec",
    "parse_retry_after",
]

log = logging.getLogger("rememberer_client")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A server asking for more than this is clamped: callers blocked for minutes inside
# one SDK call would be worse than one more 429.
MAX_RETRY_AFTER = 60.0

BASE_URL_ENV = "REMEMBERER_URL"
API_KEY_ENV = "REMEMBERER_API_KEY"

_T = TypeVar("_T")
_HttpxClientT = TypeVar("_HttpxClientT", httpx.Client, httpx.AsyncClient)

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_SETTING_WIRE_NAMES: dict[str, str] = {
    key: ("lambda" if key == "lambda_" else key) for key in MemorySettings.__optional_keys__
}
_SETTING_TYPES: dict[str, Any] = typing.get_type_hints(MemorySettings)

# The service's messages name HTTP routes ("create it with POST /v1/memories"); an SDK
# user is told the method to call as well.
_SDK_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"POST /v1/memories(?![/\w])"), "memory.create() or client.create_memory()"),
    (re.compile(r"POST /v1/memories/\{memory\}/reflections"), "memory.create_reflection()"),
    (re.compile(r"/v1/memories/\{memory\}/embeddings"), "memory.put_embeddings()"),
)


@dataclass(frozen=True, slots=True)
class RequestSpec(Generic[_T]):
    """One endpoint call, independent of transport: what to send and how to read it."""

    method: str
    path: str
    parse: Callable[[httpx.Response], _T]
    params: Mapping[str, str | int] = field(default_factory=dict)
    json: Any = None
    # Non-2xx statuses that are answers rather than failures (readyz's 503): never
    # retried, handed to `parse`.
    answer_statuses: frozenset[int] = frozenset()
    # For deletes: a 404 after a retry most likely means our earlier attempt already
    # deleted the thing before its answer was lost, so the goal is reached.
    missing_ok_after_retry: bool = False


@dataclass(frozen=True, slots=True)
class RetryIn:
    """Decision of :meth:`BaseClient._handle_outcome`: sleep ``delay`` seconds, resend."""

    delay: float


def parse_retry_after(value: str, *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` value, or ``None`` if unusable.

    Accepts both forms of RFC 9110: delay-seconds (``"3"``; fractions tolerated) and
    an HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``). Dates in the past give ``0``.
    """
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are always GMT; a zone-less parse means "-0000".
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def _path(*parts: str | int) -> str:
    segments = []
    for part in parts:
        text = str(part)
        # Dot segments would be collapsed by URL normalisation and hit another route.
        if text in ("", ".", ".."):
            raise InvalidArgumentError(f"invalid path segment {text!r}")
        segments.append(quote(text, safe=""))
    return "/" + "/".join(segments)


def _memory_path(memory: str, *rest: str | int) -> str:
    return _path("v1", "memories", memory, *rest)


def _json_model(model: type[_T]) -> Callable[[httpx.Response], _T]:
    adapter: pydantic.TypeAdapter[_T] = pydantic.TypeAdapter(model)

    def parse(response: httpx.Response) -> _T:
        return adapter.validate_json(response.content)

    return parse


def _no_content(response: httpx.Response) -> None:
    return None


def _unread(response: httpx.Response) -> httpx.Response:
    return response


def _is_success(response: httpx.Response) -> bool:
    return response.is_success


def _page_params(
    limit: int | None, cursor: str | None, **extra: str | None
) -> dict[str, str | int]:
    # httpx would send `?cursor=` for a None value, which the server reads as a cursor.
    params: dict[str, str | int] = {k: v for k, v in extra.items() if v is not None}
    if limit is not None:
        params["limit"] = limit
    if cursor is not None:
        params["cursor"] = cursor
    return params


def _error_details(response: httpx.Response) -> tuple[str | None, str, Any]:
    """(code, message, decoded body) of an error answer, whatever its body looks like."""
    try:
        body: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            message = error.get("message")
            return (
                code if isinstance(code, str) else None,
                message if isinstance(message, str) and message else response.reason_phrase,
                body,
            )
        # Frameworks' default shape, e.g. FastAPI's {"detail": ...}, in case a route
        # escapes the service's error handler.
        detail = body.get("detail")
        if detail is not None:
            message = detail if isinstance(detail, str) else json.dumps(detail)
            return None, message, body
    text = response.text.strip()
    if len(text) > 500:
        text = text[:500] + "…"
    return None, text or response.reason_phrase or f"HTTP {response.status_code}", body


class BaseClient(Generic[_HttpxClientT]):
    """Everything of :class:`MemoryClient` and :class:`AsyncMemoryClient` except I/O."""

    _client: _HttpxClientT
    _owns_client: bool

    def __init__(
        self,
        *,
        base_url: str | httpx.URL | None,
        api_key: str | None,
        timeout: TimeoutTypes,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        on_retry: RetryHook | None = None,
        retry_stats: RetryStats | None = None,
    ) -> None:
        if base_url is None:
            base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        if api_key is None:
            api_key = os.environ.get(API_KEY_ENV) or None
        self._base_url = str(base_url).rstrip("/")
        self._api_key = api_key
        self._timeout = _validate_timeout(timeout)
        self._max_retries = _validate_max_retries(max_retries)
        self._default_headers: dict[str, str] = dict(default_headers or {})
        if on_retry is not None and not callable(on_retry):
            raise InvalidArgumentError(f"on_retry must be callable, not {on_retry!r}")
        if retry_stats is not None and not isinstance(retry_stats, RetryStats):
            raise InvalidArgumentError(f"retry_stats must be a RetryStats, not {retry_stats!r}")
        self._on_retry = on_retry
        self._retry_stats = retry_stats if retry_stats is not None else RetryStats()
        # Overridable for tests that want reproducible jitter.
        self._random: Callable[[], float] = random.random

    # -- configuration -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def api_key(self) -> str | None:
        return self._api_key

    @property
    def timeout(self) -> httpx.Timeout:
        return self._timeout

    @property
    def max_retries(self) -> int:
        return self._max_retries

    @property
    def retry_stats(self) -> RetryStats:
        """Attempts this client retried, by reason (shared with its ``with_options`` copies)."""
        return self._retry_stats

    @property
    def on_retry(self) -> RetryHook | None:
        return self._on_retry

    @property
    def default_headers(self) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            "User-Agent": f"rememberer-client/{__version__}",
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        headers.update(self._default_headers)
        return headers

    def _copy_kwargs(
        self,
        *,
        base_url: str | httpx.URL | None,
        api_key: str | None,
        timeout: TimeoutTypes | NotGiven,
        max_retries: int | NotGiven,
        default_headers: Mapping[str, str] | None,
        on_retry: RetryHook | NotGiven | None,
        retry_stats: RetryStats | None,
    ) -> dict[str, Any]:
        return {
            "base_url": self._base_url if base_url is None else base_url,
            "api_key": self._api_key if api_key is None else api_key,
            "timeout": self._timeout if isinstance(timeout, NotGiven) else timeout,
            "max_retries": (
                self._max_retries if isinstance(max_retries, NotGiven) else max_retries
            ),
            "default_headers": {**self._default_headers, **(default_headers or {})},
            "on_retry": self._on_retry if isinstance(on_retry, NotGiven) else on_retry,
            "retry_stats": self._retry_stats if retry_stats is None else retry_stats,
            # The copy borrows the connection pool and therefore never closes it.
            "http_client": self._client,
        }

    def __repr__(self) -> str:
        # Never show the API key.
        return f"{type(self).__name__}(base_url={self._base_url!r})"

    # -- request building ------------------------------------------------------------

    def _resolve_timeout(self, timeout: TimeoutTypes | NotGiven) -> httpx.Timeout:
        return self._timeout if isinstance(timeout, NotGiven) else _validate_timeout(timeout)

    def _resolve_max_retries(self, max_retries: int | NotGiven) -> int:
        if isinstance(max_retries, NotGiven):
            return self._max_retries
        return _validate_max_retries(max_retries)

    def _build_request(self, spec: RequestSpec[Any], timeout: httpx.Timeout) -> httpx.Request:
        # The injected client's build_request merges its own headers and cookies; the
        # absolute URL makes its base_url irrelevant.
        return self._client.build_request(
            spec.method,
            self._base_url + spec.path,
            params=dict(spec.params) or None,
            json=spec.json,
            headers=self.default_headers,
            timeout=timeout,
        )

    # -- retry policy ------------------------------------------------------------------

    def _should_retry_status(self, status_code: int) -> bool:
        return status_code == 429 or status_code >= 500

    def _should_retry_exception(self, exc: httpx.RequestError) -> bool:
        # Transport failures (refused, reset, timed out) may heal; a scheme httpx cannot
        # speak or an undecodable body will not.
        return isinstance(exc, httpx.TransportError) and not isinstance(
            exc, httpx.UnsupportedProtocol
        )

    def _retry_delay(self, retries_taken: int, headers: httpx.Headers | None = None) -> float:
        """Seconds to wait before retry number ``retries_taken + 1``."""
        if headers is not None and "retry-after" in headers:
            requested = parse_retry_after(headers["retry-after"])
            if requested is not None:
                return min(requested, MAX_RETRY_AFTER)
        delay = min(INITIAL_RETRY_DELAY * 2.0**retries_taken, MAX_RETRY_DELAY)
        # Up to 25% less, so that clients failing together do not retry together.
        return delay * (1.0 - 0.25 * self._random())

    def _note_retry(self, request: httpx.Request, reason: str, attempt: int, delay: float) -> None:
        self._retry_stats.record(reason)
        if self._on_retry is not None:
            self._on_retry(RetryEvent(request.method, str(request.url), attempt, reason, delay))

    def _handle_outcome(
        self,
        spec: RequestSpec[_T],
        request: httpx.Request,
        outcome: httpx.Response | httpx.RequestError,
        *,
        retries_taken: int,
        max_retries: int,
    ) -> _T | RetryIn:
        """Turn one attempt's outcome into a result, a retry decision, or an exception."""
        can_retry = retries_taken < max_retries
        if isinstance(outcome, httpx.RequestError):
            if can_retry and self._should_retry_exception(outcome):
                delay = self._retry_delay(retries_taken)
                self._note_retry(request, type(outcome).__name__, retries_taken + 1, delay)
                log.info(
                    "%s %s failed (%s: %s); retry %d/%d in %.2fs",
                    request.method,
                    request.url,
                    type(outcome).__name__,
                    outcome,
                    retries_taken + 1,
                    max_retries,
                    delay,
                )
                return RetryIn(delay)
            if isinstance(outcome, httpx.TimeoutException):
                raise APITimeoutError(
                    f"{request.method} {request.url} timed out ({type(outcome).__name__})",
                    request=request,
                ) from outcome
            raise APIConnectionError(
                f"could not reach {request.url}: {type(outcome).__name__}: {outcome}",
                request=request,
            ) from outcome

        response = outcome
        status = response.status_code
        log.debug("%s %s -> %d", request.method, request.url, status)
        if response.is_success or status in spec.answer_statuses:
            return self._parse(spec, response)
        if status == 404 and spec.missing_ok_after_retry and retries_taken > 0:
            log.info("%s %s: 404 after a retry, treated as done", request.method, request.url)
            return self._parse(spec, response)
        if can_retry and self._should_retry_status(status):
            delay = self._retry_delay(retries_taken, response.headers)
            self._note_retry(request, f"HTTP {status}", retries_taken + 1, delay)
            log.info(
                "%s %s -> %d; retry %d/%d in %.2fs",
                request.method,
                request.url,
                status,
                retries_taken + 1,
                max_retries,
                delay,
            )
            return RetryIn(delay)
        raise self._make_status_error(response)

    # -- response parsing ----------------------------------------------------------------

    def _parse(self, spec: RequestSpec[_T], response: httpx.Response) -> _T:
        try:
            return spec.parse(response)
        except (ValueError, pydantic.ValidationError) as exc:
            raise APIResponseValidationError(
                f"unexpected answer to {spec.method} {spec.path}: {exc}", response=response
            ) from exc

    def _make_status_error(self, response: httpx.Response) -> APIStatusError:
        code, message, body = _error_details(response)
        message = _with_sdk_hint(message)
        status = response.status_code
        error_class = _STATUS_ERRORS.get(status)
        if error_class is None:
            error_class = InternalServerError if status >= 500 else APIStatusError
        return error_class(message, response=response, code=code, body=body)

    def _settings_conflict(
        self, existing: Memory, settings: MemorySettings, conflict: ConflictError
    ) -> ConflictError | None:
        """For ``create_memory(exist_ok=True)``: ``None`` if ``existing`` has every
        setting given, else the error that names those it has otherwise."""
        given: dict[str, Any] = dict(settings)
        differing = [
            f"{key}={getattr(existing, key)!r} (asked {value!r})"
            for key, value in given.items()
            if not _same_setting(getattr(existing, key), value)
        ]
        if not differing:
            return None
        message = f"memory {existing.name!r} exists with other settings: {', '.join(differing)}"
        return ConflictError(
            message, response=conflict.response, code=conflict.code, body=conflict.body
        )

    # -- endpoints -----------------------------------------------------------------

    @staticmethod
    def _create_memory_spec(name: str, settings: MemorySettings) -> RequestSpec[Memory]:
        check_argument("create_memory", "name", name, str)
        unknown = set(settings) - set(_SETTING_WIRE_NAMES)
        if unknown:
            raise InvalidArgumentError(f"unknown memory settings: {', '.join(sorted(unknown))}")
        for key, value in settings.items():
            check_argument("create_memory", key, value, _SETTING_TYPES[key])
        body: dict[str, Any] = {"name": name}
        body.update({_SETTING_WIRE_NAMES[key]: value for key, value in settings.items()})
        return RequestSpec("POST", _path("v1", "memories"), _json_model(Memory), json=body)

    @staticmethod
    @strict_arguments
    def _get_memory_spec(name: str) -> RequestSpec[Memory]:
        return RequestSpec("GET", _memory_path(name), _json_model(Memory))

    @staticmethod
    @strict_arguments
    def _list_memories_spec(limit: int | None, cursor: str | None) -> RequestSpec[Page[Memory]]:
        return RequestSpec(
            "GET",
            _path("v1", "memories"),
            _json_model(Page[Memory]),
            params=_page_params(limit, cursor),
        )

    @staticmethod
    @strict_arguments
    def _delete_memory_spec(name: str) -> RequestSpec[None]:
        return RequestSpec("DELETE", _memory_path(name), _no_content, missing_ok_after_retry=True)

    @staticmethod
    def _put_embeddings_spec(
        memory: str, embeddings: Mapping[str, Sequence[float]]
    ) -> RequestSpec[int]:
        check_argument("put_embeddings", "memory", memory, str)
        check_argument("put_embeddings", "embeddings", embeddings, Mapping[str, Any])
        # Vectors are checked as lists, so that numpy arrays and tuples pass as they did.
        vectors = {text: list(vector) for text, vector in embeddings.items()}
        check_argument("put_embeddings", "embeddings", vectors, dict[str, list[float]])
        body = {"embeddings": vectors}

        def parse(response: httpx.Response) -> int:
            return _EmbeddingsStored.model_validate_json(response.content).stored

        return RequestSpec("PUT", _memory_path(memory, "embeddings"), parse, json=body)

    @staticmethod
    @strict_arguments
    def _retrieve_spec(
        memory: str,
        task: str,
        observation: str,
        k: int,
        lambda_: float | None,
        min_score: float | None = None,
        task_filter: TaskFilter | None = None,
    ) -> RequestSpec[list[Exemplar]]:
        body: dict[str, Any] = {"task": task, "observation": observation, "k": k}
        # Options left at None stay off the wire: services that predate min_score and
        # task_filter refuse unknown fields.
        optional = {"lambda": lambda_, "min_score": min_score, "task_filter": task_filter}
        body.update({key: value for key, value in optional.items() if value is not None})

        def parse(response: httpx.Response) -> list[Exemplar]:
            return _RetrieveResponse.model_validate_json(response.content).exemplars

        return RequestSpec("POST", _memory_path(memory, "retrieve"), parse, json=body)

    @staticmethod
    @strict_arguments
    def _update_spec(
        memory: str,
        episode_id: str,
        task: str,
        transitions: Sequence[Transition | Mapping[str, Any]],
        reflection_ids: Sequence[int] | None = None,
    ) -> RequestSpec[UpdateResult]:
        # Validated before sending so that a malformed transition fails fast and locally.
        check_argument("update", "transitions", transitions, Sequence[Any])
        checked = [
            validate_model("update", f"transitions[{i}]", Transition, t)
            for i, t in enumerate(transitions)
        ]
        body: dict[str, Any] = {
            "episode_id": episode_id,
            "task": task,
            "transitions": [t._to_wire() for t in checked],
        }
        if reflection_ids:
            body["reflection_ids"] = list(reflection_ids)
        return RequestSpec(
            "POST", _memory_path(memory, "update"), _json_model(UpdateResult), json=body
        )

    @staticmethod
    @strict_arguments
    def _list_records_spec(
        memory: str, task: str | None, limit: int | None, cursor: str | None
    ) -> RequestSpec[Page[Record]]:
        return RequestSpec(
            "GET",
            _memory_path(memory, "records"),
            _json_model(Page[Record]),
            params=_page_params(limit, cursor, task=task),
        )

    @staticmethod
    @strict_arguments
    def _get_record_spec(memory: str, record_id: int) -> RequestSpec[Record]:
        return RequestSpec("GET", _memory_path(memory, "records", record_id), _json_model(Record))

    @staticmethod
    @strict_arguments
    def _delete_record_spec(memory: str, record_id: int) -> RequestSpec[None]:
        return RequestSpec(
            "DELETE",
            _memory_path(memory, "records", record_id),
            _no_content,
            missing_ok_after_retry=True,
        )

    @staticmethod
    @strict_arguments
    def _retrieve_with_reflections_spec(
        memory: str,
        task: str,
        observation: str,
        k: int,
        reflections: int,
        lambda_: float | None,
        min_score: float | None = None,
        task_filter: TaskFilter | None = None,
    ) -> RequestSpec[Retrieval]:
        plain = BaseClient._retrieve_spec(
            memory, task, observation, k, lambda_, min_score, task_filter
        )
        body = {**plain.json, "reflections": reflections}
        return RequestSpec("POST", plain.path, _json_model(Retrieval), json=body)

    @staticmethod
    @strict_arguments
    def _create_reflection_spec(
        memory: str, task: str, episode_id: str, text: str, prompt: str | None
    ) -> RequestSpec[Reflection]:
        body = {"task": task, "episode_id": episode_id, "text": text}
        if prompt is not None:
            body["prompt"] = prompt
        return RequestSpec(
            "POST", _memory_path(memory, "reflections"), _json_model(Reflection), json=body
        )

    @staticmethod
    @strict_arguments
    def _get_reflection_spec(memory: str, reflection_id: int) -> RequestSpec[ReflectionDetail]:
        return RequestSpec(
            "GET", _memory_path(memory, "reflections", reflection_id), _json_model(ReflectionDetail)
        )

    @staticmethod
    @strict_arguments
    def _list_reflections_spec(
        memory: str, task: str | None, limit: int | None, cursor: str | None
    ) -> RequestSpec[Page[Reflection]]:
        return RequestSpec(
            "GET",
            _memory_path(memory, "reflections"),
            _json_model(Page[Reflection]),
            params=_page_params(limit, cursor, task=task),
        )

    @staticmethod
    @strict_arguments
    def _export_reflections_spec(
        memory: str, format: ExportFormat, task: str | None
    ) -> RequestSpec[httpx.Response]:
        """Answers with the response itself, its body not yet read: rows are streamed."""
        params: dict[str, str | int] = {"format": format}
        if task is not None:
            params["task"] = task
        return RequestSpec(
            "GET", _memory_path(memory, "reflections", "export"), _unread, params=params
        )

    # -- streamed answers ------------------------------------------------------------

    def _stream_row(self, spec: RequestSpec[Any], response: httpx.Response, line: str) -> Any:
        """One decoded JSON Lines row, or ``None`` for a blank line."""
        if not line.strip():
            return None
        try:
            return json.loads(line)
        except ValueError as exc:
            raise APIResponseValidationError(
                f"unexpected line in the answer to {spec.method} {spec.path}: {exc}",
                response=response,
            ) from exc

    def _broken_stream(self, request: httpx.Request, exc: httpx.TransportError) -> APIError:
        # Not retried: rows already handed to the caller cannot be taken back.
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"the stream from {request.url} timed out ({type(exc).__name__})",
                request=request,
            )
        return APIConnectionError(
            f"the stream from {request.url} broke off: {type(exc).__name__}: {exc}",
            request=request,
        )

    @staticmethod
    @strict_arguments
    def _upsert_records_spec(
        memory: str, items: Sequence[RecordItem | Mapping[str, Any]]
    ) -> RequestSpec[UpsertResult]:
        # Validated before sending, like transitions: a misspelt field fails locally.
        check_argument("upsert_records", "items", items, Sequence[Any])
        checked = [
            validate_model("upsert_records", f"items[{n}]", RecordItem, item)
            for n, item in enumerate(items)
        ]
        body = {"items": [item.model_dump(mode="json") for item in checked]}
        return RequestSpec(
            "POST", _memory_path(memory, "records"), _json_model(UpsertResult), json=body
        )

    @staticmethod
    @strict_arguments
    def _list_episodes_spec(
        memory: str, task: str | None, done: bool | None, limit: int | None, cursor: str | None
    ) -> RequestSpec[Page[EpisodeSummary]]:
        flag = None if done is None else ("true" if done else "false")
        return RequestSpec(
            "GET",
            _memory_path(memory, "episodes"),
            _json_model(Page[EpisodeSummary]),
            params=_page_params(limit, cursor, task=task, done=flag),
        )

    @staticmethod
    @strict_arguments
    def _get_episode_spec(memory: str, episode_id: str) -> RequestSpec[EpisodeDetail]:
        return RequestSpec(
            "GET", _memory_path(memory, "episodes", episode_id), _json_model(EpisodeDetail)
        )

    @staticmethod
    @strict_arguments
    def _abandon_episode_spec(memory: str, episode_id: str) -> RequestSpec[EpisodeSummary]:
        # Safe to retry: abandoning a closed episode answers its summary again.
        return RequestSpec(
            "POST",
            _memory_path(memory, "episodes", episode_id, "abandon"),
            _json_model(EpisodeSummary),
        )

    @staticmethod
    @strict_arguments
    def _health_spec() -> RequestSpec[bool]:
        return RequestSpec("GET", "/healthz", _is_success, answer_statuses=frozenset({503}))

    @staticmethod
    @strict_arguments
    def _ready_spec() -> RequestSpec[bool]:
        return RequestSpec("GET", "/readyz", _is_success, answer_statuses=frozenset({503}))

    @staticmethod
    @strict_arguments
    def _create_key_spec(name: str, memories: Sequence[str]) -> RequestSpec[CreatedKey]:
        body = {"name": name, "memories": list(memories)}
        return RequestSpec("POST", _path("v1", "keys"), _json_model(CreatedKey), json=body)

    @staticmethod
    @strict_arguments
    def _list_keys_spec(limit: int | None, cursor: str | None) -> RequestSpec[Page[ApiKey]]:
        return RequestSpec(
            "GET",
            _path("v1", "keys"),
            _json_model(Page[ApiKey]),
            params=_page_params(limit, cursor),
        )

    @staticmethod
    @strict_arguments
    def _revoke_key_spec(key_id: int) -> RequestSpec[None]:
        return RequestSpec(
            "DELETE", _path("v1", "keys", key_id), _no_content, missing_ok_after_retry=True
        )


def _with_sdk_hint(message: str) -> str:
    for route, method in _SDK_HINTS:
        if route.search(message):
            return f"{message} (in the SDK: {method})"
    return message


def _same_setting(stored: object, asked: object) -> bool:
    # Floats may come back through another representation (JSON, a REAL column).
    numbers = (int, float)
    if isinstance(stored, numbers) and isinstance(asked, numbers):
        if isinstance(stored, bool) or isinstance(asked, bool):
            return stored is asked
        return math.isclose(stored, asked, rel_tol=1e-6, abs_tol=1e-12)
    return stored == asked


def _validate_timeout(timeout: TimeoutTypes) -> httpx.Timeout:
    if timeout is None:
        raise InvalidArgumentError(
            "timeouts are always on: pass seconds or an httpx.Timeout, not None"
        )
    if isinstance(timeout, httpx.Timeout):
        resolved = timeout
    elif isinstance(timeout, int | float) and not isinstance(timeout, bool):
        resolved = httpx.Timeout(float(timeout))
    else:
        raise InvalidArgumentError(
            f"timeout must be seconds (a number) or an httpx.Timeout, not {timeout!r}"
        )
    phases = (resolved.connect, resolved.read, resolved.write, resolved.pool)
    if any(phase is None or phase <= 0 for phase in phases):
        raise InvalidArgumentError(
            f"every timeout phase must be a positive number of seconds: {resolved}"
        )
    return resolved


def _validate_max_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidArgumentError(f"max_retries must be an int >= 0, not {max_retries!r}")
    return max_retries
