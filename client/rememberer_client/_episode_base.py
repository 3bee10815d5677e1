"""What the sync and async episode helpers share: step numbering and the done flag."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from ._exceptions import EpisodeFinishedError, InvalidArgumentError, NotFoundError
from ._models import EpisodeSummary, Transition, UpdateResult
from ._validation import check_argument, validate_model

__all__ = ["EpisodeBase"]

log = logging.getLogger("rememberer_client")


class EpisodeBase:
    """Step numbering and the done flag of one episode, without I/O."""

    def __init__(
        self,
        memory_name: str,
        task: str,
        episode_id: str | None,
        reflection_ids: Sequence[int] = (),
    ) -> None:
        check_argument("episode", "task", task, str)
        check_argument("episode", "episode_id", episode_id, str | None)
        check_argument("episode", "reflection_ids", reflection_ids, Sequence[int])
        if episode_id is not None and not episode_id:
            raise InvalidArgumentError("episode(): episode_id must not be empty")
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
        truncated: bool,
    ) -> Transition:
        if self._done:
            raise EpisodeFinishedError(
                f"episode {self._episode_id!r} is done after {self._next_step} steps; "
                "start a new episode for another attempt"
            )
        fields = {
            "step": self._next_step,
            "observation": observation,
            "action": action,
            "reward": reward,
            "next_observation": next_observation,
            "done": done,
            "note": note,
            "truncated": truncated,
        }
        return validate_model("step", "", Transition, fields)

    def _advance(self, transition: Transition, result: UpdateResult) -> None:
        # Only a confirmed update consumes the step number: after a failure the same
        # step can be sent again, and the server treats an applied replay as a no-op.
        self._next_step = transition.step + 1
        self._done = transition.done or transition.truncated or result.episode.done

    def _abandoned(self, summary: EpisodeSummary | None) -> EpisodeSummary | None:
        self._done = True
        return summary

    def _never_reached_the_server(self, error: NotFoundError) -> bool:
        """Whether a 404 to ``abandon`` only means that no step of ours was applied."""
        return self._next_step == 0 and error.code != "memory_not_found"

    def _check_exit(self, exc_type: type[BaseException] | None) -> None:
        if exc_type is None and not self._done and self._next_step > 0:
            # Without `done` the server keeps the episode open and the last n pairs
            # wait for their bootstrap target, so the omission is worth a warning.
            log.warning(
                "episode %r of memory %r left without done=True (or truncated=True, or "
                "abandon()) after %d steps; its most recent pairs stay un-updated until it ends",
                self._episode_id,
                self._memory_name,
                self._next_step,
            )
