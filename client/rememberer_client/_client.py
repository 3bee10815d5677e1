# Generated from _async_client.py by client/scripts/unasync.py: do not edit.
# Change the asyncio source, then run `python client/scripts/unasync.py`.
"""The synchronous client and its memory-bound handle."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx

from ._base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    BaseClient,
    RequestSpec,
    RetryIn,
)
from ._episode import Episode
from ._exceptions import ConflictError
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
)
from ._retries import RetryHook, RetryStats
from ._types import (
    NOT_GIVEN,
    ExportFormat,
    MemorySettings,
    NotGiven,
    TaskFilter,
    TimeoutTypes,
)
from ._validation import check_argument

__all__ = ["MemoryClient", "MemoryHandle"]

_T = TypeVar("_T")


class MemoryClient(BaseClient[httpx.Client]):
    """Synchronous client of the Rememberer service.

    >>> with MemoryClient("http://127.0.0.1:8000") as client:  # doctest: +SKIP
    ...     memory = client.memory("webshop")
    ...     exemplars = memory.retrieve("buy a red mug", "search page", k=2)

    ``base_url`` defaults to ``$REMEMBERER_URL`` (else ``http://127.0.0.1:8000``),
    ``api_key`` to ``$REMEMBERER_API_KEY`` and is sent as ``Authorization: Bearer``.
    Failed connections, timeouts, 429 and 5xx answers are retried up to
    ``max_retries`` times with exponential backoff and jitter, honouring
    ``Retry-After``. An injected ``http_client`` is used as is and never closed by
    this client. Every method also takes ``timeout=`` and ``max_retries=`` to
    override the client's values for that call only. Retries are counted in
    :attr:`retry_stats`, and ``on_retry`` (if given) is called with a
    :class:`RetryEvent` before each one.
    """

    def __init__(
        self,
        base_url: str | httpx.URL | None = None,
        *,
        api_key: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        on_retry: RetryHook | None = None,
        retry_stats: RetryStats | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            on_retry=on_retry,
            retry_stats=retry_stats,
        )
        self._owns_client = http_client is None
        self._client = http_client if http_client is not None else httpx.Client()

    def with_options(
        self,
        *,
        base_url: str | httpx.URL | None = None,
        api_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
        on_retry: RetryHook | NotGiven | None = NOT_GIVEN,
        retry_stats: RetryStats | None = None,
    ) -> Self:
        """A copy with some options replaced, sharing this client's connection pool and,
        unless given another, its :attr:`retry_stats`. ``on_retry=None`` drops the hook."""
        return type(self)(
            **self._copy_kwargs(
                base_url=base_url,
                api_key=api_key,
                timeout=timeout,
                max_retries=max_retries,
                default_headers=default_headers,
                on_retry=on_retry,
                retry_stats=retry_stats,
            )
        )

    # -- I/O -------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _request(
        self,
        spec: RequestSpec[_T],
        *,
        timeout: TimeoutTypes | NotGiven,
        max_retries: int | NotGiven,
    ) -> _T:
        resolved_timeout = self._resolve_timeout(timeout)
        resolved_retries = self._resolve_max_retries(max_retries)
        retries_taken = 0
        while True:
            request = self._build_request(spec, resolved_timeout)
            outcome: httpx.Response | httpx.RequestError
            try:
                outcome = self._client.send(request)
            except httpx.RequestError as exc:
                outcome = exc
            decision = self._handle_outcome(
                spec,
                request,
                outcome,
                retries_taken=retries_taken,
                max_retries=resolved_retries,
            )
            if not isinstance(decision, RetryIn):
                return decision
            self._sleep(decision.delay)
            retries_taken += 1

    def _stream_rows(
        self,
        spec: RequestSpec[httpx.Response],
        *,
        timeout: TimeoutTypes | NotGiven,
        max_retries: int | NotGiven,
    ) -> Iterator[Any]:
        """The JSON Lines rows of a streamed answer; retried like any request until the
        first row arrives, never after."""
        resolved_timeout = self._resolve_timeout(timeout)
        resolved_retries = self._resolve_max_retries(max_retries)
        retries_taken = 0
        while True:
            request = self._build_request(spec, resolved_timeout)
            outcome: httpx.Response | httpx.RequestError
            try:
                outcome = self._client.send(request, stream=True)
                if not outcome.is_success:
                    outcome.read()  # error answers are small; the error needs their body
                    outcome.close()
            except httpx.RequestError as exc:
                outcome = exc
            decision = self._handle_outcome(
                spec, request, outcome, retries_taken=retries_taken, max_retries=resolved_retries
            )
            if isinstance(decision, RetryIn):
                self._sleep(decision.delay)
                retries_taken += 1
                continue
            try:
                for line in decision.iter_lines():
                    row = self._stream_row(spec, decision, line)
                    if row is not None:
                        yield row
            except httpx.TransportError as exc:
                raise self._broken_stream(request, exc) from exc
            finally:
                decision.close()
            return

    def close(self) -> None:
        """Close the connection pool, unless it was injected (its owner closes it)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- memories --------------------------------------------------------------------

    def memory(self, name: str) -> MemoryHandle:
        """A handle bound to memory ``name`` (no request is made)."""
        return MemoryHandle(self, name)

    def create_memory(
        self,
        name: str,
        *,
        exist_ok: bool = False,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        **settings: Unpack[MemorySettings],
    ) -> Memory:
        """Create memory ``name``; only the settings given are sent (the server defaults
        the rest). Raises :class:`ConflictError` (``memory_exists``) if the name is taken,
        which after a retried attempt may mean that the first attempt succeeded.

        With ``exist_ok=True`` a taken name is no error if that memory has every setting
        given here: it is returned. If some differ, the :class:`ConflictError` names them.
        """
        check_argument("create_memory", "exist_ok", exist_ok, bool)
        spec = self._create_memory_spec(name, settings)
        try:
            return self._request(spec, timeout=timeout, max_retries=max_retries)
        except ConflictError as conflict:
            if not exist_ok or conflict.code != "memory_exists":
                raise
            existing = self.get_memory(name, timeout=timeout, max_retries=max_retries)
            mismatch = self._settings_conflict(existing, settings, conflict)
            if mismatch is not None:
                raise mismatch from conflict
            return existing

    def get_memory(
        self,
        name: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Memory:
        """Settings and counts of memory ``name``."""
        return self._request(self._get_memory_spec(name), timeout=timeout, max_retries=max_retries)

    def list_memories(
        self,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[Memory]:
        """One page of memories; pass ``next_cursor`` back as ``cursor`` for the next."""
        return self._request(
            self._list_memories_spec(limit, cursor), timeout=timeout, max_retries=max_retries
        )

    def iter_memories(
        self,
        *,
        page_size: int | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Iterator[Memory]:
        """Every memory, fetching pages lazily."""
        cursor: str | None = None
        while True:
            page = self.list_memories(page_size, cursor, timeout=timeout, max_retries=max_retries)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def delete_memory(
        self,
        name: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> None:
        """Delete memory ``name`` and everything in it."""
        self._request(self._delete_memory_spec(name), timeout=timeout, max_retries=max_retries)

    # -- inside one memory ---------------------------------------------------------------

    def put_embeddings(
        self,
        memory: str,
        embeddings: Mapping[str, Sequence[float]],
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> int:
        """Store client-side vectors for texts; returns how many were stored."""
        return self._request(
            self._put_embeddings_spec(memory, embeddings), timeout=timeout, max_retries=max_retries
        )

    def retrieve(
        self,
        memory: str,
        task: str,
        observation: str,
        k: int = 2,
        lambda_: float | None = None,
        *,
        min_score: float | None = None,
        task_filter: TaskFilter | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> list[Exemplar]:
        """The ``k`` records most similar to (task, observation), best first.

        ``lambda_`` overrides the memory's task-similarity weight for this query.
        ``min_score`` leaves out records scoring below it; ``task_filter="same"`` keeps
        only records of exactly this task, ``"other"`` only records of other tasks.
        """
        return self._request(
            self._retrieve_spec(memory, task, observation, k, lambda_, min_score, task_filter),
            timeout=timeout,
            max_retries=max_retries,
        )

    def update(
        self,
        memory: str,
        episode_id: str,
        task: str,
        transitions: Sequence[Transition | Mapping[str, Any]],
        *,
        reflection_ids: Sequence[int] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> UpdateResult:
        """Send transitions of episode ``episode_id`` (in step order, starting at 0).

        ``reflection_ids`` names the reflections put in this episode's prompt (on any
        call of the episode); each is rated when the episode ends. Retrying is safe: the
        server applies each (episode_id, step) and each reflection use once.
        """
        return self._request(
            self._update_spec(memory, episode_id, task, transitions, reflection_ids),
            timeout=timeout,
            max_retries=max_retries,
        )

    def list_records(
        self,
        memory: str,
        task: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[Record]:
        """One page of state records, optionally only those of ``task``."""
        return self._request(
            self._list_records_spec(memory, task, limit, cursor),
            timeout=timeout,
            max_retries=max_retries,
        )

    def iter_records(
        self,
        memory: str,
        task: str | None = None,
        *,
        page_size: int | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Iterator[Record]:
        """Every state record (optionally of ``task``), fetching pages lazily."""
        cursor: str | None = None
        while True:
            page = self.list_records(
                memory, task, page_size, cursor, timeout=timeout, max_retries=max_retries
            )
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_record(
        self,
        memory: str,
        record_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Record:
        """One state record with its action values."""
        return self._request(
            self._get_record_spec(memory, record_id), timeout=timeout, max_retries=max_retries
        )

    def delete_record(
        self,
        memory: str,
        record_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> None:
        """Delete one state record."""
        self._request(
            self._delete_record_spec(memory, record_id), timeout=timeout, max_retries=max_retries
        )

    # -- episodes ------------------------------------------------------------------------

    def list_episodes(
        self,
        memory: str,
        task: str | None = None,
        done: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[EpisodeSummary]:
        """One page of episodes, newest first; ``task`` and ``done`` filter them."""
        return self._request(
            self._list_episodes_spec(memory, task, done, limit, cursor),
            timeout=timeout,
            max_retries=max_retries,
        )

    def iter_episodes(
        self,
        memory: str,
        task: str | None = None,
        done: bool | None = None,
        *,
        page_size: int | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Iterator[EpisodeSummary]:
        """Every episode (optionally of ``task``, or only ended ones), fetching pages lazily."""
        cursor: str | None = None
        while True:
            page = self.list_episodes(
                memory, task, done, page_size, cursor, timeout=timeout, max_retries=max_retries
            )
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_episode(
        self,
        memory: str,
        episode_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> EpisodeDetail:
        """One episode with its transitions and the action values each one changed."""
        return self._request(
            self._get_episode_spec(memory, episode_id), timeout=timeout, max_retries=max_retries
        )

    def abandon_episode(
        self,
        memory: str,
        episode_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> EpisodeSummary:
        """Close an open episode without updating its pending pairs (status
        ``"abandoned"``); on a closed episode it changes nothing and answers the same."""
        return self._request(
            self._abandon_episode_spec(memory, episode_id),
            timeout=timeout,
            max_retries=max_retries,
        )

    # -- reflections ---------------------------------------------------------------------

    def retrieve_with_reflections(
        self,
        memory: str,
        task: str,
        observation: str,
        k: int = 2,
        reflections: int = 3,
        lambda_: float | None = None,
        *,
        min_score: float | None = None,
        task_filter: TaskFilter | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Retrieval:
        """Like :meth:`retrieve`, plus the newest ``reflections`` reflections on ``task``
        (newest first); render both with ``format_exemplars(..., reflections=...)``."""
        return self._request(
            self._retrieve_with_reflections_spec(
                memory, task, observation, k, reflections, lambda_, min_score, task_filter
            ),
            timeout=timeout,
            max_retries=max_retries,
        )

    def create_reflection(
        self,
        memory: str,
        task: str,
        episode_id: str,
        text: str,
        prompt: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Reflection:
        """Store a reflection on finished episode ``episode_id`` of ``task``.

        ``prompt`` is what the reflecting model was asked; reflections on one prompt
        become training pairs. The same text and prompt on the same episode return the
        stored reflection, so retrying is safe. Raises :class:`NotFoundError` for an
        unknown episode and :class:`ConflictError` for one that has not ended.
        """
        return self._request(
            self._create_reflection_spec(memory, task, episode_id, text, prompt),
            timeout=timeout,
            max_retries=max_retries,
        )

    def get_reflection(
        self,
        memory: str,
        reflection_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> ReflectionDetail:
        """One reflection with each episode that used it and that use's rating."""
        return self._request(
            self._get_reflection_spec(memory, reflection_id),
            timeout=timeout,
            max_retries=max_retries,
        )

    def list_reflections(
        self,
        memory: str,
        task: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[Reflection]:
        """One page of reflections, newest first, optionally only those of ``task``."""
        return self._request(
            self._list_reflections_spec(memory, task, limit, cursor),
            timeout=timeout,
            max_retries=max_retries,
        )

    def export_reflections(
        self,
        memory: str,
        format: ExportFormat = "jsonl",
        task: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Iterator[dict[str, Any]]:
        """Training rows, streamed: ``"jsonl"`` gives one ``{task, prompt, reflection,
        return_before, return_after, rating, ...}`` per rated use, ``"pairs"`` gives
        ``{prompt, chosen, rejected, ...}``. The request is sent on the first ``next()``."""
        rows = self._stream_rows(
            self._export_reflections_spec(memory, format, task),
            timeout=timeout,
            max_retries=max_retries,
        )
        yield from rows

    def upsert_records(
        self,
        memory: str,
        items: Sequence[RecordItem | Mapping[str, Any]],
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> UpsertResult:
        """Create or replace records with their action values, in one transaction.

        A record whose (task, observation) exists is replaced, values and all; a new one is
        subject to the memory's item capacity. Retrying is safe: the result is the same.
        """
        return self._request(
            self._upsert_records_spec(memory, items), timeout=timeout, max_retries=max_retries
        )

    # -- probes --------------------------------------------------------------------------

    def health(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> bool:
        """Liveness: ``True`` on 2xx, ``False`` on 503; other failures raise."""
        return self._request(self._health_spec(), timeout=timeout, max_retries=max_retries)

    def ready(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> bool:
        """Readiness (database reachable, migrations current): ``False`` on 503."""
        return self._request(self._ready_spec(), timeout=timeout, max_retries=max_retries)

    # -- API keys (admin key only) -------------------------------------------------------

    def create_key(
        self,
        name: str,
        memories: Sequence[str],
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> CreatedKey:
        """Mint a key that can use only ``memories``; its ``key`` is shown only now. (A
        retry after a lost answer mints another; the unseen one is listed, revoke it.)"""
        return self._request(
            self._create_key_spec(name, memories), timeout=timeout, max_retries=max_retries
        )

    def list_keys(
        self,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[ApiKey]:
        """One page of keys (without their secrets)."""
        return self._request(
            self._list_keys_spec(limit, cursor), timeout=timeout, max_retries=max_retries
        )

    def revoke_key(
        self,
        key_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> None:
        """Revoke a key: it stops working at once."""
        self._request(self._revoke_key_spec(key_id), timeout=timeout, max_retries=max_retries)


class MemoryHandle:
    """:class:`MemoryClient` methods bound to one memory name."""

    def __init__(self, client: MemoryClient, name: str) -> None:
        self._client = client
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def client(self) -> MemoryClient:
        return self._client

    def __repr__(self) -> str:
        return f"MemoryHandle(name={self._name!r})"

    def create(
        self,
        *,
        exist_ok: bool = False,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        **settings: Unpack[MemorySettings],
    ) -> Memory:
        """Create this memory, or with ``exist_ok=True`` return it if it exists with
        these settings (see :meth:`MemoryClient.create_memory`)."""
        return self._client.create_memory(
            self._name, exist_ok=exist_ok, timeout=timeout, max_retries=max_retries, **settings
        )

    def get(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Memory:
        """Settings and counts of this memory."""
        return self._client.get_memory(self._name, timeout=timeout, max_retries=max_retries)

    def delete(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> None:
        """Delete this memory and everything in it."""
        self._client.delete_memory(self._name, timeout=timeout, max_retries=max_retries)

    def put_embeddings(
        self,
        embeddings: Mapping[str, Sequence[float]],
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> int:
        """See :meth:`MemoryClient.put_embeddings`."""
        return self._client.put_embeddings(
            self._name, embeddings, timeout=timeout, max_retries=max_retries
        )

    def retrieve(
        self,
        task: str,
        observation: str,
        k: int = 2,
        lambda_: float | None = None,
        *,
        min_score: float | None = None,
        task_filter: TaskFilter | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> list[Exemplar]:
        """See :meth:`MemoryClient.retrieve`."""
        return self._client.retrieve(
            self._name,
            task,
            observation,
            k,
            lambda_,
            min_score=min_score,
            task_filter=task_filter,
            timeout=timeout,
            max_retries=max_retries,
        )

    def update(
        self,
        episode_id: str,
        task: str,
        transitions: Sequence[Transition | Mapping[str, Any]],
        *,
        reflection_ids: Sequence[int] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> UpdateResult:
        """See :meth:`MemoryClient.update`."""
        return self._client.update(
            self._name,
            episode_id,
            task,
            transitions,
            reflection_ids=reflection_ids,
            timeout=timeout,
            max_retries=max_retries,
        )

    def list_records(
        self,
        task: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[Record]:
        """See :meth:`MemoryClient.list_records`."""
        return self._client.list_records(
            self._name, task, limit, cursor, timeout=timeout, max_retries=max_retries
        )

    def iter_records(
        self,
        task: str | None = None,
        *,
        page_size: int | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Iterator[Record]:
        """See :meth:`MemoryClient.iter_records`."""
        return self._client.iter_records(
            self._name, task, page_size=page_size, timeout=timeout, max_retries=max_retries
        )

    def get_record(
        self,
        record_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Record:
        """See :meth:`MemoryClient.get_record`."""
        return self._client.get_record(
            self._name, record_id, timeout=timeout, max_retries=max_retries
        )

    def delete_record(
        self,
        record_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> None:
        """See :meth:`MemoryClient.delete_record`."""
        self._client.delete_record(self._name, record_id, timeout=timeout, max_retries=max_retries)

    def list_episodes(
        self,
        task: str | None = None,
        done: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[EpisodeSummary]:
        """See :meth:`MemoryClient.list_episodes`."""
        return self._client.list_episodes(
            self._name, task, done, limit, cursor, timeout=timeout, max_retries=max_retries
        )

    def iter_episodes(
        self,
        task: str | None = None,
        done: bool | None = None,
        *,
        page_size: int | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Iterator[EpisodeSummary]:
        """See :meth:`MemoryClient.iter_episodes`."""
        return self._client.iter_episodes(
            self._name, task, done, page_size=page_size, timeout=timeout, max_retries=max_retries
        )

    def get_episode(
        self,
        episode_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> EpisodeDetail:
        """See :meth:`MemoryClient.get_episode`."""
        return self._client.get_episode(
            self._name, episode_id, timeout=timeout, max_retries=max_retries
        )

    def abandon_episode(
        self,
        episode_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> EpisodeSummary:
        """See :meth:`MemoryClient.abandon_episode`."""
        return self._client.abandon_episode(
            self._name, episode_id, timeout=timeout, max_retries=max_retries
        )

    def episode(
        self, task: str, episode_id: str | None = None, reflection_ids: Sequence[int] = ()
    ) -> Episode:
        """A step-numbering helper for one episode of ``task`` (see :class:`Episode`);
        ``reflection_ids`` (the reflections in its prompt) go with its first step."""
        return Episode(self, task, episode_id, reflection_ids)

    def retrieve_with_reflections(
        self,
        task: str,
        observation: str,
        k: int = 2,
        reflections: int = 3,
        lambda_: float | None = None,
        *,
        min_score: float | None = None,
        task_filter: TaskFilter | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Retrieval:
        """See :meth:`MemoryClient.retrieve_with_reflections`."""
        return self._client.retrieve_with_reflections(
            self._name,
            task,
            observation,
            k,
            reflections,
            lambda_,
            min_score=min_score,
            task_filter=task_filter,
            timeout=timeout,
            max_retries=max_retries,
        )

    def create_reflection(
        self,
        task: str,
        episode_id: str,
        text: str,
        prompt: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Reflection:
        """See :meth:`MemoryClient.create_reflection`."""
        return self._client.create_reflection(
            self._name, task, episode_id, text, prompt, timeout=timeout, max_retries=max_retries
        )

    def get_reflection(
        self,
        reflection_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> ReflectionDetail:
        """See :meth:`MemoryClient.get_reflection`."""
        return self._client.get_reflection(
            self._name, reflection_id, timeout=timeout, max_retries=max_retries
        )

    def list_reflections(
        self,
        task: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[Reflection]:
        """See :meth:`MemoryClient.list_reflections`."""
        return self._client.list_reflections(
            self._name, task, limit, cursor, timeout=timeout, max_retries=max_retries
        )

    def export_reflections(
        self,
        format: ExportFormat = "jsonl",
        task: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Iterator[dict[str, Any]]:
        """See :meth:`MemoryClient.export_reflections`."""
        return self._client.export_reflections(
            self._name, format, task, timeout=timeout, max_retries=max_retries
        )

    def upsert_records(
        self,
        items: Sequence[RecordItem | Mapping[str, Any]],
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> UpsertResult:
        """See :meth:`MemoryClient.upsert_records`."""
        return self._client.upsert_records(
            self._name, items, timeout=timeout, max_retries=max_retries
        )
