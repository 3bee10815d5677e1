"""Episode helpers: number the steps of one episode and send one update per step."""

# Per-call `timeout=` mirrors the sync API and openai-python; it bounds each HTTP
# attempt, which asyncio.timeout() around the call cannot do without cutting retries.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self

from ._exceptions import EpisodeFinishedError
from ._models import Transition, UpdateResult
from ._types import NOT_GIVEN, NotGiven, TimeoutTypes

if TYPE_CHECKING:
    from ._async_client import AsyncMemoryHandle
    from ._client import MemoryHandle

__all__ = ["AsyncEpisode", "Episode"]

log = logging.getLogger("rememberer_client")


class _EpisodeState:
    """Step numbering and the done flag, shared by both episode flavours."""

    def __init__(
        self,
        memory_name: str,
        task: str,
        episode_id: str | None,
        reflection_ids: Sequence[int] = (),
    ) -> None:
        if episode_id is not None and not episode_id:
            raise ValueError("episode_id must not be empty")
        self._memory_name = memory_name
        self._task = task
        self._reflection_ids = tuple(reflection_ids)
        self._episode_id = episode_id if episode_id is not None else uuid.uuid4().hex
        self._next_step = 0
        self._done = False

    @property
    def task(self) -> str:
        return self._task

    @property
    def episode_id(self) -> str:
        return self._episode_id

    @property
    def reflection_ids(self) -> tuple[int, ...]:
        """The reflections in this episode's prompt, sent with its first step."""
        return self._reflection_ids

    def _reflections_to_send(self) -> tuple[int, ...]:
        # Step 0 until it is confirmed, so a retried first step carries them again.
        return self._reflection_ids if self._next_step == 0 else ()

    @property
    def next_step(self) -> int:
        """Number that the next ``step()`` will carry."""
        return self._next_step

    @property
    def done(self) -> bool:
        return self._done

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(memory={self._memory_name!r}, task={self._task!r}, "
            f"episode_id={self._episode_id!r}, next_step={self._next_step}, done={self._done})"
        )

    def _transition(
        self,
        observation: str,
        action: str,
        reward: float,
        next_observation: str,
        done: bool,
        note: str | None,
    ) -> Transition:
        if self._done:
            raise EpisodeFinishedError(
                f"episode {self._episode_id!r} is done after {self._next_step} steps; "
                "start a new episode for another attempt"
            )
        return Transition(
            step=self._next_step,
            observation=observation,
            action=action,
            reward=reward,
            next_observation=next_observation,
            done=done,
            note=note,
        )

    def _advance(self, transition: Transition, result: UpdateResult) -> None:
        # Only a confirmed update consumes the step number: after a failure the same
        # step can be sent again, and the server treats an applied replay as a no-op.
        self._next_step = transition.step + 1
        self._done = transition.done or result.episode.done

    def _check_exit(self, exc_type: type[BaseException] | None) -> None:
        if exc_type is None and not self._done and self._next_step > 0:
            # Without `done` the server keeps the episode open and the last n pairs
            # wait for their bootstrap target, so the omission is worth a warning.
            log.warning(
                "episode %r of memory %r left without done=True after %d steps; "
                "its most recent pairs stay un-updated until it ends",
                self._episode_id,
                self._memory_name,
                self._next_step,
            )


class Episode(_EpisodeState):
    """One attempt at ``task``, numbering its steps 0, 1, 2, … itself.

    >>> with memory.episode("buy a red mug") as ep:  # doctest: +SKIP
    ...     ep.step("home page", "search[red mug]", 0.0, "results page")
    ...     ep.step("results page", "click[item 1]", 1.0, "bought", done=True)

    Each ``step`` sends one update and returns its :class:`UpdateResult`. A step that
    raises does not consume its number, so calling ``step`` again with the same
    arguments retries it. After a step with ``done=True``, ``step`` raises
    :class:`EpisodeFinishedError` without sending anything. Steps of one episode are
    serialised if called from several threads, in whatever order the threads get there.
    """

    def __init__(
        self,
        memory: MemoryHandle,
        task: str,
        episode_id: str | None = None,
        reflection_ids: Sequence[int] = (),
    ) -> None:
        super().__init__(memory.name, task, episode_id, reflection_ids)
        self._memory = memory
        self._lock = threading.Lock()

    def step(
        self,
        observation: str,
        action: str,
        reward: float,
        next_observation: str,
        done: bool = False,
        note: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> UpdateResult:
        """Record that ``action`` in ``observation`` gave ``reward`` and ``next_observation``."""
        # Held across the request: two concurrent steps would otherwise share a number.
        with self._lock:
            transition = self._transition(observation, action, reward, next_observation, done, note)
            result = self._memory.update(
                self._episode_id,
                self._task,
                [transition],
                reflection_ids=self._reflections_to_send(),
                timeout=timeout,
                max_retries=max_retries,
            )
            self._advance(transition, result)
            return result

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._check_exit(exc_type)


class AsyncEpisode(_EpisodeState):
    """Async twin of :class:`Episode`: ``async with`` and ``await ep.step(...)``."""

    def __init__(
        self,
        memory: AsyncMemoryHandle,
        task: str,
        episode_id: str | None = None,
        reflection_ids: Sequence[int] = (),
    ) -> None:
        super().__init__(memory.name, task, episode_id, reflection_ids)
        self._memory = memory
        self._lock = asyncio.Lock()

    async def step(
        self,
        observation: str,
        action: str,
        reward: float,
        next_observation: str,
        done: bool = False,
        note: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> UpdateResult:
        """Record that ``action`` in ``observation`` gave ``reward`` and ``next_observation``."""
        # Held across the request: gathered steps would otherwise share a number.
        async with self._lock:
            transition = self._transition(observation, action, reward, next_observation, done, note)
            result = await self._memory.update(
                self._episode_id,
                self._task,
                [transition],
                reflection_ids=self._reflections_to_send(),
                timeout=timeout,
                max_retries=max_retries,
            )
            self._advance(transition, result)
            return result

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._check_exit(exc_type)
