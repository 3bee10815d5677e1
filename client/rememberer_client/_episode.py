# Generated from _async_episode.py by client/scripts/unasync.py: do not edit.
# Change the asyncio source, then run `python client/scripts/unasync.py`.
"""The synchronous episode helper: numbers the steps of one episode, one update per step."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, Self

from ._episode_base import EpisodeBase
from ._exceptions import NotFoundError
from ._models import EpisodeSummary, Transition, UpdateResult
from ._types import NOT_GIVEN, NotGiven, TimeoutTypes

__all__ = ["Episode", "EpisodeMemory"]


class EpisodeMemory(Protocol):
    """What an episode needs of its memory: :class:`MemoryHandle` is one. (A
    protocol, so that the episode and the client modules need not import each other.)"""

    @property
    def name(self) -> str: ...

    def update(
        self,
        episode_id: str,
        task: str,
        transitions: Sequence[Transition | Mapping[str, Any]],
        *,
        reflection_ids: Sequence[int] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> UpdateResult: ...

    def abandon_episode(
        self,
        episode_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> EpisodeSummary: ...


class Episode(EpisodeBase):
    """One attempt at ``task``, numbering its steps 0, 1, 2, … itself.

    >>> with memory.episode("buy a red mug") as ep:  # doctest: +SKIP
    ...     ep.step("home page", "search[red mug]", 0.0, "results page")
    ...     ep.step("results page", "click[item 1]", 1.0, "bought", done=True)

    Each ``step`` sends one update and returns its :class:`UpdateResult`. A step that
    raises does not consume its number, so calling ``step`` again with the same
    arguments retries it. After a step with ``done=True`` (the task ended) or
    ``truncated=True`` (cut short, e.g. by a step limit: the last pairs still
    bootstrap from its ``next_observation``), or after :meth:`abandon`, ``step``
    raises :class:`EpisodeFinishedError` without sending anything. Concurrent steps of
    one episode are serialised, in whatever order they get there.
    """

    def __init__(
        self,
        memory: EpisodeMemory,
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
        truncated: bool = False,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> UpdateResult:
        """Record that ``action`` in ``observation`` gave ``reward`` and ``next_observation``."""
        # Held across the request: concurrent steps would otherwise share a number.
        with self._lock:
            transition = self._transition(
                observation, action, reward, next_observation, done, note, truncated
            )
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

    def abandon(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> EpisodeSummary | None:
        """End this episode without learning from its pending pairs (see
        :meth:`MemoryClient.abandon_episode`), e.g. when the agent itself failed.

        Returns the server's summary, or ``None`` if the server never received a step
        of this episode (then there is nothing to abandon there).
        """
        with self._lock:
            try:
                summary = self._memory.abandon_episode(
                    self._episode_id, timeout=timeout, max_retries=max_retries
                )
            except NotFoundError as error:
                if not self._never_reached_the_server(error):
                    raise
                return self._abandoned(None)
            return self._abandoned(summary)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._check_exit(exc_type)
