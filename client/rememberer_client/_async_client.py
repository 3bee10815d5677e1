"""The asyncio client and its memory-bound handle (twins of those in ``_client``)."""

# Per-call `timeout=` mirrors the sync API and openai-python; it bounds each HTTP
# attempt, which asyncio.timeout() around the call cannot do without cutting retries.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
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
from ._episode import AsyncEpisode
from ._models import (
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
from ._types import NOT_GIVEN, ExportFormat, MemorySettings, NotGiven, TimeoutTypes

__all__ = ["AsyncMemoryClient", "AsyncMemoryHandle"]

_T = TypeVar("_T")


class AsyncMemoryClient(BaseClient[httpx.AsyncClient]):
    """Asyncio client of the Rememberer service; same options as :class:`MemoryClient`.

    >>> async with AsyncMemoryClient() as client:  # doctest: +SKIP
    ...     exemplars = await client.retrieve("webshop", "buy a red mug", "search page")
    """

    def __init__(
        self,
        base_url: str | httpx.URL | None = None,
        *,
        api_key: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        self._owns_client = http_client is None
        self._client = http_client if http_client is not None else httpx.AsyncClient()

    def with_options(
        self,
        *,
        base_url: str | httpx.URL | None = None,
        api_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A copy with some options replaced, sharing this client's connection pool."""
        return type(self)(
            **self._copy_kwargs(
                base_url=base_url,
                api_key=api_key,
                timeout=timeout,
                max_retries=max_retries,
                default_headers=default_headers,
            )
        )

    # -- I/O -------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def _request(
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
                outcome = await self._client.send(request)
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
            await self._sleep(decision.delay)
            retries_taken += 1

    async def _stream_rows(
        self,
        spec: RequestSpec[httpx.Response],
        *,
        timeout: TimeoutTypes | NotGiven,
        max_retries: int | NotGiven,
    ) -> AsyncIterator[Any]:
        """See :meth:`MemoryClient._stream_rows`."""
        resolved_timeout = self._resolve_timeout(timeout)
        resolved_retries = self._resolve_max_retries(max_retries)
        retries_taken = 0
        while True:
            request = self._build_request(spec, resolved_timeout)
            outcome: httpx.Response | httpx.RequestError
            try:
                outcome = await self._client.send(request, stream=True)
                if not outcome.is_success:
                    await outcome.aread()  # error answers are small; the error needs their body
                    await outcome.aclose()
            except httpx.RequestError as exc:
                outcome = exc
            decision = self._handle_outcome(
                spec, request, outcome, retries_taken=retries_taken, max_retries=resolved_retries
            )
            if isinstance(decision, RetryIn):
                await self._sleep(decision.delay)
                retries_taken += 1
                continue
            try:
                async for line in decision.aiter_lines():
                    row = self._stream_row(spec, decision, line)
                    if row is not None:
                        yield row
            except httpx.TransportError as exc:
                raise self._broken_stream(request, exc) from exc
            finally:
                await decision.aclose()
            return

    async def aclose(self) -> None:
        """Close the connection pool, unless it was injected (its owner closes it)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- memories --------------------------------------------------------------------

    def memory(self, name: str) -> AsyncMemoryHandle:
        """A handle bound to memory ``name`` (no request is made)."""
        return AsyncMemoryHandle(self, name)

    async def create_memory(
        self,
        name: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        **settings: Unpack[MemorySettings],
    ) -> Memory:
        """See :meth:`MemoryClient.create_memory`."""
        return await self._request(
            self._create_memory_spec(name, settings), timeout=timeout, max_retries=max_retries
        )

    async def get_memory(
        self,
        name: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Memory:
        """See :meth:`MemoryClient.get_memory`."""
        return await self._request(
            self._get_memory_spec(name), timeout=timeout, max_retries=max_retries
        )

    async def list_memories(
        self,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[Memory]:
        """See :meth:`MemoryClient.list_memories`."""
        return await self._request(
            self._list_memories_spec(limit, cursor), timeout=timeout, max_retries=max_retries
        )

    async def iter_memories(
        self,
        *,
        page_size: int | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> AsyncIterator[Memory]:
        """Every memory, fetching pages lazily (use with ``async for``)."""
        cursor: str | None = None
        while True:
            page = await self.list_memories(
                page_size, cursor, timeout=timeout, max_retries=max_retries
            )
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def delete_memory(
        self,
        name: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> None:
        """See :meth:`MemoryClient.delete_memory`."""
        await self._request(
            self._delete_memory_spec(name), timeout=timeout, max_retries=max_retries
        )

    # -- inside one memory ---------------------------------------------------------------

    async def put_embeddings(
        self,
        memory: str,
        embeddings: Mapping[str, Sequence[float]],
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> int:
        """See :meth:`MemoryClient.put_embeddings`."""
        return await self._request(
            self._put_embeddings_spec(memory, embeddings), timeout=timeout, max_retries=max_retries
        )

    async def retrieve(
        self,
        memory: str,
        task: str,
        observation: str,
        k: int = 2,
        lambda_: float | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> list[Exemplar]:
        """See :meth:`MemoryClient.retrieve`."""
        return await self._request(
            self._retrieve_spec(memory, task, observation, k, lambda_),
            timeout=timeout,
            max_retries=max_retries,
        )

    async def update(
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
        """See :meth:`MemoryClient.update`."""
        return await self._request(
            self._update_spec(memory, episode_id, task, transitions, reflection_ids),
            timeout=timeout,
            max_retries=max_retries,
        )

    async def list_records(
        self,
        memory: str,
        task: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[Record]:
        """See :meth:`MemoryClient.list_records`."""
        return await self._request(
            self._list_records_spec(memory, task, limit, cursor),
            timeout=timeout,
            max_retries=max_retries,
        )

    async def iter_records(
        self,
        memory: str,
        task: str | None = None,
        *,
        page_size: int | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> AsyncIterator[Record]:
        """Every state record (optionally of ``task``), fetching pages lazily."""
        cursor: str | None = None
        while True:
            page = await self.list_records(
                memory, task, page_size, cursor, timeout=timeout, max_retries=max_retries
            )
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def get_record(
        self,
        memory: str,
        record_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Record:
        """See :meth:`MemoryClient.get_record`."""
        return await self._request(
            self._get_record_spec(memory, record_id), timeout=timeout, max_retries=max_retries
        )

    async def delete_record(
        self,
        memory: str,
        record_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> None:
        """See :meth:`MemoryClient.delete_record`."""
        await self._request(
            self._delete_record_spec(memory, record_id), timeout=timeout, max_retries=max_retries
        )

    # -- reflections ---------------------------------------------------------------------

    async def retrieve_with_reflections(
        self,
        memory: str,
        task: str,
        observation: str,
        k: int = 2,
        reflections: int = 3,
        lambda_: float | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Retrieval:
        """See :meth:`MemoryClient.retrieve_with_reflections`."""
        return await self._request(
            self._retrieve_with_reflections_spec(
                memory, task, observation, k, reflections, lambda_
            ),
            timeout=timeout,
            max_retries=max_retries,
        )

    async def create_reflection(
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
        """See :meth:`MemoryClient.create_reflection`."""
        return await self._request(
            self._create_reflection_spec(memory, task, episode_id, text, prompt),
            timeout=timeout,
            max_retries=max_retries,
        )

    async def get_reflection(
        self,
        memory: str,
        reflection_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> ReflectionDetail:
        """See :meth:`MemoryClient.get_reflection`."""
        return await self._request(
            self._get_reflection_spec(memory, reflection_id),
            timeout=timeout,
            max_retries=max_retries,
        )

    async def list_reflections(
        self,
        memory: str,
        task: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[Reflection]:
        """See :meth:`MemoryClient.list_reflections`."""
        return await self._request(
            self._list_reflections_spec(memory, task, limit, cursor),
            timeout=timeout,
            max_retries=max_retries,
        )

    async def export_reflections(
        self,
        memory: str,
        format: ExportFormat = "jsonl",
        task: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> AsyncIterator[dict[str, Any]]:
        """See :meth:`MemoryClient.export_reflections` (use with ``async for``)."""
        async for row in self._stream_rows(
            self._export_reflections_spec(memory, format, task),
            timeout=timeout,
            max_retries=max_retries,
        ):
            yield row

    async def upsert_records(
        self,
        memory: str,
        items: Sequence[RecordItem | Mapping[str, Any]],
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> UpsertResult:
        """See :meth:`MemoryClient.upsert_records`."""
        return await self._request(
            self._upsert_records_spec(memory, items), timeout=timeout, max_retries=max_retries
        )

    # -- probes --------------------------------------------------------------------------

    async def health(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> bool:
        """See :meth:`MemoryClient.health`."""
        return await self._request(self._health_spec(), timeout=timeout, max_retries=max_retries)

    async def ready(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> bool:
        """See :meth:`MemoryClient.ready`."""
        return await self._request(self._ready_spec(), timeout=timeout, max_retries=max_retries)


class AsyncMemoryHandle:
    """:class:`AsyncMemoryClient` methods bound to one memory name."""

    def __init__(self, client: AsyncMemoryClient, name: str) -> None:
        self._client = client
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def client(self) -> AsyncMemoryClient:
        return self._client

    def __repr__(self) -> str:
        return f"AsyncMemoryHandle(name={self._name!r})"

    async def create(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        **settings: Unpack[MemorySettings],
    ) -> Memory:
        """Create this memory (see :meth:`MemoryClient.create_memory`)."""
        return await self._client.create_memory(
            self._name, timeout=timeout, max_retries=max_retries, **settings
        )

    async def get(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Memory:
        """Settings and counts of this memory."""
        return await self._client.get_memory(self._name, timeout=timeout, max_retries=max_retries)

    async def delete(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> None:
        """Delete this memory and everything in it."""
        await self._client.delete_memory(self._name, timeout=timeout, max_retries=max_retries)

    async def put_embeddings(
        self,
        embeddings: Mapping[str, Sequence[float]],
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> int:
        """See :meth:`MemoryClient.put_embeddings`."""
        return await self._client.put_embeddings(
            self._name, embeddings, timeout=timeout, max_retries=max_retries
        )

    async def retrieve(
        self,
        task: str,
        observation: str,
        k: int = 2,
        lambda_: float | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> list[Exemplar]:
        """See :meth:`MemoryClient.retrieve`."""
        return await self._client.retrieve(
            self._name, task, observation, k, lambda_, timeout=timeout, max_retries=max_retries
        )

    async def update(
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
        return await self._client.update(
            self._name,
            episode_id,
            task,
            transitions,
            reflection_ids=reflection_ids,
            timeout=timeout,
            max_retries=max_retries,
        )

    async def list_records(
        self,
        task: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[Record]:
        """See :meth:`MemoryClient.list_records`."""
        return await self._client.list_records(
            self._name, task, limit, cursor, timeout=timeout, max_retries=max_retries
        )

    def iter_records(
        self,
        task: str | None = None,
        *,
        page_size: int | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> AsyncIterator[Record]:
        """See :meth:`AsyncMemoryClient.iter_records` (use with ``async for``)."""
        return self._client.iter_records(
            self._name, task, page_size=page_size, timeout=timeout, max_retries=max_retries
        )

    async def get_record(
        self,
        record_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Record:
        """See :meth:`MemoryClient.get_record`."""
        return await self._client.get_record(
            self._name, record_id, timeout=timeout, max_retries=max_retries
        )

    async def delete_record(
        self,
        record_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> None:
        """See :meth:`MemoryClient.delete_record`."""
        await self._client.delete_record(
            self._name, record_id, timeout=timeout, max_retries=max_retries
        )

    def episode(
        self, task: str, episode_id: str | None = None, reflection_ids: Sequence[int] = ()
    ) -> AsyncEpisode:
        """A step-numbering helper for one episode of ``task`` (see :class:`AsyncEpisode`);
        ``reflection_ids`` (the reflections in its prompt) go with its first step."""
        return AsyncEpisode(self, task, episode_id, reflection_ids)

    async def retrieve_with_reflections(
        self,
        task: str,
        observation: str,
        k: int = 2,
        reflections: int = 3,
        lambda_: float | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Retrieval:
        """See :meth:`MemoryClient.retrieve_with_reflections`."""
        return await self._client.retrieve_with_reflections(
            self._name,
            task,
            observation,
            k,
            reflections,
            lambda_,
            timeout=timeout,
            max_retries=max_retries,
        )

    async def create_reflection(
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
        return await self._client.create_reflection(
            self._name, task, episode_id, text, prompt, timeout=timeout, max_retries=max_retries
        )

    async def get_reflection(
        self,
        reflection_id: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> ReflectionDetail:
        """See :meth:`MemoryClient.get_reflection`."""
        return await self._client.get_reflection(
            self._name, reflection_id, timeout=timeout, max_retries=max_retries
        )

    async def list_reflections(
        self,
        task: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> Page[Reflection]:
        """See :meth:`MemoryClient.list_reflections`."""
        return await self._client.list_reflections(
            self._name, task, limit, cursor, timeout=timeout, max_retries=max_retries
        )

    def export_reflections(
        self,
        format: ExportFormat = "jsonl",
        task: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> AsyncIterator[dict[str, Any]]:
        """See :meth:`AsyncMemoryClient.export_reflections` (use with ``async for``)."""
        return self._client.export_reflections(
            self._name, format, task, timeout=timeout, max_retries=max_retries
        )

    async def upsert_records(
        self,
        items: Sequence[RecordItem | Mapping[str, Any]],
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> UpsertResult:
        """See :meth:`MemoryClient.upsert_records`."""
        return await self._client.upsert_records(
            self._name, items, timeout=timeout, max_retries=max_retries
        )
