"""RLEM: REMEMBERER's experience-memory update by n-step Q-learning (CONTRACT.md, "Update
semantics").

Notation as in the contract: transition `t` of an episode saw o_t, took a_t and received
r_{t+1}, arriving at o_{t+1}; r_0 = 0. With horizon n:

1. pair (o_t, a_t) is updated when o_{t+n} arrives (transition t+n−1, if it is not the last)
   with target G = Σ_{k<n} γ^k r_{t+k+1} + γ^n · max_a Q(o_{t+n}, a), where Q(o_{t+n}, ·) is
   o_{t+n}'s own record, else the record `retrieve` ranks first for (task, o_{t+n});
2. when the episode ends, the pairs not yet updated are updated in order of t with the
   discounted return to the end (every pair, for Monte-Carlo `n_step: null`);
3. updating a pair creates or revisits the state record, ensures the action value exists
   (q = 0) before the bootstrap look-up, then moves its visits, reward and q in one atomic
   statement.

Every Q/visit change is a single SQL statement, so concurrent agents never lose an update;
the episode row is locked for the call, so one episode's steps apply in order, and the
states the call writes are locked before any of them, in one global order
(rememberer.state_locks), so calls over the same states never deadlock. The pair
updates of a call go out as one pipeline (rememberer.db.statements): PostgreSQL runs them in
order, and their answers are read after the last one. Memory options beyond the contract's
core: rememberer.double_q and rememberer.capacity.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from sqlalchemy import TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import schemas
from rememberer.embedding.embedder import Vector
from rememberer.errors import Conflict, OutOfOrder, StepConflict, Unavailable
from rememberer.learning import capacity, double_q, reflections
from rememberer.learning.double_q import RECORD, TARGET, BestValues, Targets
from rememberer.memories.catalog import MemoryInfo
from rememberer.search.retrieval import (
    LCS,
    TIE_MARGIN,
    SearchParams,
    rank,
    ranking_sql,
    search_binds,
    uses_index,
)
from rememberer.search.vectors import VectorStore
from rememberer.storage import state_locks
from rememberer.storage.db import Pending, Send, statements
from rememberer.storage.keys import EMBED_NEW_RECORD, record_key, sha256

logger = logging.getLogger(__name__)

# PostgreSQL aborts one of two transactions that wait on each other's rows; nothing of it
# was committed, so the whole call is safely run again. The state locks leave this to item
# capacity, whose admissions evict and re-link records that no state lock covers.
RETRYABLE_SQLSTATES = {"40001", "40P01"}
MAX_ATTEMPTS = 5


# --- the pure part: which pairs are due, and their targets ------------------------------


def due_pairs(step: int, done: bool, n_step: int | None) -> list[tuple[int, int | None]]:
    """Pairs (t, horizon) to update when transition `step` arrives; horizon None means the
    discounted return to the end of the episode (no bootstrap)."""
    if done:
        first = 0 if n_step is None else max(0, step + 1 - n_step)
        return [(t, None) for t in range(first, step + 1)]
    if n_step is None or step + 1 - n_step < 0:
        return []
    return [(step + 1 - n_step, n_step)]


def written_states(
    task: str,
    stored: Sequence[schemas.Transition],
    transitions: Iterable[schemas.Transition],
    n_step: int | None,
) -> set[bytes]:
    """The keys of the state records a call's new transitions update, after the episode's
    `stored` steps: the observations o_t of their due pairs."""
    observations = [s.observation for s in stored]
    keys: set[bytes] = set()
    for transition in transitions:
        # Replayed steps write nothing; an out-of-order one fails the call before writing.
        if transition.step != len(observations):
            continue
        observations.append(transition.observation)
        for t, _ in due_pairs(transition.step, transition.done, n_step):
            keys.add(record_key(task, observations[t]))
    return keys


def discounted_sum(rewards: Sequence[float], gamma: float) -> float:
    return sum(gamma**k * reward for k, reward in enumerate(rewards))


def moved_towards(mode: str, learning_rate: float) -> str:
    """SQL for the step size of `x += (target − x) · rate` on a row with `visits` so far."""
    if mode == "mean":
        return "(1.0::float8 / ({table}.visits + 1))"
    return f"{float(learning_rate)!r}::float8"


@dataclass
class Episode:
    """An episode's received transitions; `rewards[t]` is r_t (r_0 = 0)."""

    episode_id: str
    task: str
    steps: list[schemas.Transition]
    # What each applied step answered, so that a retried step answers the same.
    answers: dict[int, list[schemas.UpdatedValue]]

    @property
    def rewards(self) -> list[float]:
        return [0.0] + [s.reward for s in self.steps]

    @property
    def ended(self) -> bool:
        return bool(self.steps) and self.steps[-1].done

    @property
    def total_return(self) -> float:
        return sum(s.reward for s in self.steps)

    def observation(self, t: int) -> str:
        """o_t: the observation transition t was taken in, or the last one arrived at."""
        return self.steps[t].observation if t < len(self.steps) else self.steps[-1].next_observation

    def target_without_bootstrap(self, t: int, gamma: float) -> float:
        return discounted_sum(self.rewards[t + 1 :], gamma)


# --- SQL ----------------------------------------------------------------------------------

# Creates the episode or locks it: DO UPDATE takes the row lock that DO NOTHING would not,
# and returns the row as the previous holder of the lock left it.
_LOCK_EPISODE = text(
    """
    INSERT INTO episodes (memory_id, episode_id, task, next_step, done, return)
    VALUES (:m, :e, :task, 0, false, 0)
    ON CONFLICT (memory_id, episode_id) DO UPDATE SET task = episodes.task
    RETURNING task, next_step
    """
)
_SELECT_STEPS = text(
    "SELECT step, observation, action, reward, next_observation, done, note, updated "
    "FROM episode_steps WHERE memory_id = :m AND episode_id = :e ORDER BY step"
)
_INSERT_STEP = text(
    "INSERT INTO episode_steps (memory_id, episode_id, step, observation, action, reward, "
    "next_observation, done, note, updated) VALUES (:m, :e, :step, :observation, :action, "
    ":reward, :next_observation, :done, :note, CAST(:updated AS jsonb))"
)
_SAVE_EPISODE = text(
    "UPDATE episodes SET next_step = :next_step, done = :done, return = :return, "
    "updated_at = now() WHERE memory_id = :m AND episode_id = :e"
)
_HISTORY_KEPT = {
    "newest": "EXCLUDED.action_history",
    "oldest": "records.action_history",
    "shortest": "CASE WHEN jsonb_array_length(EXCLUDED.action_history) "
    "<= jsonb_array_length(records.action_history) "
    "THEN EXCLUDED.action_history ELSE records.action_history END",
    "longest": "CASE WHEN jsonb_array_length(EXCLUDED.action_history) "
    ">= jsonb_array_length(records.action_history) "
    "THEN EXCLUDED.action_history ELSE records.action_history END",
}
_OWN_RECORD_VALUE = text(
    f"SELECT r.id, v.* FROM records r, LATERAL (SELECT {double_q.BEST_VALUES} "
    "FROM action_values a WHERE a.record_id = r.id) v WHERE r.memory_id = :m AND r.key = :key"
)
_RECORD_VALUE = text(f"SELECT {double_q.BEST_VALUES} FROM action_values a WHERE a.record_id = :id")


@lru_cache(maxsize=256)
def _touch_record_sql(memory: MemoryInfo) -> TextClause:
    """Create the state record, or revisit it: visits + 1, rewards averaged, history kept;
    and ensure the action's value exists (q = 0), before any bootstrap look-up."""
    rate = moved_towards(memory.update_mode, memory.learning_rate).format(table="records")
    return text(
        f"""
        WITH touched AS (
          INSERT INTO records (memory_id, key, task, observation, visits,
                               last_reward, total_reward, action_history)
          VALUES (:m, :key, :task, :observation, 1,
                  :last_reward, :total_reward, CAST(:history AS jsonb))
          ON CONFLICT (memory_id, key) DO UPDATE SET
            visits = records.visits + 1,
            last_reward = records.last_reward
              + (EXCLUDED.last_reward - records.last_reward) * {rate},
            total_reward = records.total_reward
              + (EXCLUDED.total_reward - records.total_reward) * {rate},
            action_history = {_HISTORY_KEPT[memory.action_history_mode]}
          RETURNING id, (xmax = 0) AS created
        ), {EMBED_NEW_RECORD}, ensured AS (
          INSERT INTO action_values (record_id, action_key, action, note, q, reward, visits)
          SELECT id, :action_key, :action, :note, 0, 0, 0 FROM touched
          ON CONFLICT DO NOTHING
        )
        SELECT id, created FROM touched
        """
    )


# The targets of a pair, as a `targets` CTE (target, target_a, target_b) for the learning
# statement: given, or bootstrapped from max_a Q of o_{t+n}'s record (its own, else the one
# ranked first), found in the same statement.
_GIVEN_TARGETS = (
    "SELECT CAST(:target AS float8) AS target, CAST(:target_a AS float8) AS target_a, "
    "CAST(:target_b AS float8) AS target_b"
)


@lru_cache(maxsize=256)
def _bootstrapped_targets(memory: MemoryInfo, index: bool) -> str:
    return f"""
        SELECT :rewards + :discount * COALESCE(best, 0) AS target,
               :rewards + :discount * COALESCE(best_b, 0) AS target_a,
               :rewards + :discount * COALESCE(best_a, 0) AS target_b
        FROM (
          SELECT {double_q.BEST_VALUES}
          FROM (
            (SELECT id FROM records WHERE memory_id = :m AND key = :next_key)
            UNION ALL
            (SELECT id FROM ({ranking_sql(memory, index)}) nearest
             WHERE NOT EXISTS (SELECT 1 FROM records WHERE memory_id = :m AND key = :next_key))
            LIMIT 1
          ) state
          JOIN action_values a ON a.record_id = state.id
        ) best
    """


@lru_cache(maxsize=256)
def _learn_sql(memory: MemoryInfo, targets: str) -> TextClause:
    """visits + 1, reward towards r_{t+1}, q towards G: one statement, one row lock."""
    learn = double_q.learn_sql(memory) if memory.double_q else _learn_q_sql(memory)
    return text(f"WITH targets AS ({targets}) {learn}")


def _learn_q_sql(memory: MemoryInfo) -> str:
    rate = moved_towards(memory.update_mode, memory.learning_rate).format(table="a")
    first = 1.0 if memory.update_mode == "mean" else memory.learning_rate
    target = TARGET.format(name="target")
    return f"""
        INSERT INTO action_values AS a (record_id, action_key, action, note, q, reward, visits)
        VALUES ({RECORD}, :action_key, :action, :note,
                {target} * {first!r}::float8, :reward * {first!r}::float8, 1)
        ON CONFLICT (record_id, action_key) DO UPDATE SET
          visits = a.visits + 1,
          reward = a.reward + (:reward - a.reward) * {rate},
          q = a.q + ({target} - a.q) * {rate},
          note = COALESCE(EXCLUDED.note, a.note)
        RETURNING record_id, q, visits
    """


@dataclass
class SentPair:
    """A pair update sent to the database; its answer is read once its statements ran.
    `learned` is None when item capacity dropped the state."""

    observation: str
    action: str
    learned: Pending | None
    dropped_actions: list[str] = field(default_factory=list)

    async def answer(self, task: str) -> schemas.UpdatedValue:
        if self.learned is None:
            return schemas.UpdatedValue(
                record_id=None,
                task=task,
                observation=self.observation,
                action=self.action,
                q=0.0,
                visits=0,
                dropped=True,
            )
        row = await self.learned.one()
        return schemas.UpdatedValue(
            record_id=row.record_id,
            task=task,
            observation=self.observation,
            action=self.action,
            q=row.q,
            visits=row.visits,
            dropped=self.action in self.dropped_actions,
        )


# --- the update ----------------------------------------------------------------------------


class Updater:
    """Applies one `update` call inside the caller's session."""

    def __init__(
        self,
        session: AsyncSession,
        memory: MemoryInfo,
        vectors: VectorStore,
        search: SearchParams,
    ) -> None:
        self.session = session
        self.memory = memory
        self.vectors = vectors
        self.search = search
        self._vectors: dict[str, Vector] = {}
        # The pair updates' statements are pipelined unless reading an answer early decides
        # what comes next: item capacity (admission), action capacity (pruning), and "lcs"
        # bootstraps (a re-rank in Python).
        self._pipelined = (
            not capacity.writes_one_by_one(memory) and memory.observation_similarity != LCS
        )
        self._sending = False
        # What the committed attempt changed (replayed steps change nothing), for metrics.
        self.applied_transitions = 0
        self.applied_values = 0

    async def run(self, request: schemas.UpdateRequest) -> schemas.UpdateResponse:
        # Embeddings computed on the way are committed, worth keeping whatever the update's
        # fate; texts of earlier calls' steps are found later, already stored.
        await self._need_vectors(
            [request.task]
            + [t.observation for t in request.transitions]
            + [t.next_observation for t in request.transitions],
            commit_encoded=True,
        )
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = await self._apply(request)
                await self.session.commit()
                return response
            except DBAPIError as exc:
                await self.session.rollback()
                if _sqlstate(exc) not in RETRYABLE_SQLSTATES:
                    raise
                logger.info(
                    "update of %s retried (attempt %d): %s", request.episode_id, attempt, exc
                )
        raise Unavailable("the update kept colliding with concurrent updates; retry it")

    async def _apply(self, request: schemas.UpdateRequest) -> schemas.UpdateResponse:
        episode = await self._lock_episode(request)
        if self._pipelined:
            await self._look_up_before_sending(episode)
        self.applied_transitions = self.applied_values = 0
        # Per transition in request order: its answers as applied before, or its pair updates,
        # or the step number of a transition repeated within this call (answered as the first).
        outcomes: list[
            list[schemas.UpdatedValue] | tuple[schemas.Transition, list[SentPair]] | int
        ] = []
        async with statements(self.session, self._pipelined) as send:
            written = written_states(
                episode.task, episode.steps, request.transitions, self.memory.n_step
            )
            await state_locks.lock_states(send, self.memory.id, written)
            self._sending = self._pipelined
            try:
                for transition in request.transitions:
                    if transition.step < len(episode.steps):
                        outcomes.append(self._replay(episode, transition))
                        continue
                    self._check_next(episode, transition)
                    episode.steps.append(transition)
                    learned = await self._learn_from(send, episode, transition)
                    outcomes.append((transition, learned))
            finally:
                self._sending = False
        answers: list[schemas.UpdatedValue] = []
        new_steps: list[dict[str, object]] = []
        for outcome in outcomes:
            if isinstance(outcome, int):
                answers.extend(episode.answers[outcome])
                continue
            if isinstance(outcome, list):
                answers.extend(outcome)
                continue
            transition, sent = outcome
            updated = [await pair.answer(episode.task) for pair in sent]
            episode.answers[transition.step] = updated
            new_steps.append(self._step_row(episode, transition, updated))
            answers.extend(updated)
            self.applied_transitions += 1
            self.applied_values += len(updated)
        if new_steps:
            async with statements(self.session, pipelined=True) as send:
                for new_step in new_steps:
                    await send(_INSERT_STEP, new_step)
                saved = {
                    "m": self.memory.id,
                    "e": episode.episode_id,
                    "next_step": len(episode.steps),
                    "done": episode.ended,
                    "return": episode.total_return,
                }
                await send(_SAVE_EPISODE, saved)
        await reflections.note_uses(
            self.session,
            self.memory.id,
            episode.episode_id,
            request.reflection_ids,
            ended=episode.ended,
            episode_return=episode.total_return,
        )
        last = request.transitions[-1]
        return schemas.UpdateResponse(
            updated=answers,
            episode=schemas.EpisodeState(
                episode_id=episode.episode_id, next_step=last.step + 1, done=last.done
            ),
        )

    async def _lock_episode(self, request: schemas.UpdateRequest) -> Episode:
        key = {"m": self.memory.id, "e": request.episode_id}
        # One round trip: the steps are read once the lock is held (the statements run in
        # order), so they are the ones the previous holder committed.
        async with statements(self.session, pipelined=True) as send:
            locked = await send(_LOCK_EPISODE, {**key, "task": request.task})
            stored = await send(_SELECT_STEPS, key)
        row = await locked.one()
        if row.task != request.task:
            raise Conflict(
                f"episode {request.episode_id!r} belongs to task {row.task[:200]!r}; "
                "use a new episode_id for another task"
            )
        episode = Episode(request.episode_id, request.task, steps=[], answers={})
        for s in await stored.all():
            episode.steps.append(
                schemas.Transition(
                    step=s.step,
                    observation=s.observation,
                    action=s.action,
                    reward=s.reward,
                    next_observation=s.next_observation,
                    done=s.done,
                    note=s.note,
                )
            )
            episode.answers[s.step] = [schemas.UpdatedValue.model_validate(u) for u in s.updated]
        return episode

    @staticmethod
    def _replay(
        episode: Episode, transition: schemas.Transition
    ) -> list[schemas.UpdatedValue] | int:
        """A step that was already applied answers as it did then, if it is the same step. A
        step first sent earlier in this call has no answer yet: its number stands for it."""
        if episode.steps[transition.step] != transition:
            raise StepConflict(
                f"step {transition.step} of episode {episode.episode_id!r} was already applied "
                "with different content; steps cannot be changed"
            )
        return episode.answers.get(transition.step, transition.step)

    @staticmethod
    def _check_next(episode: Episode, transition: schemas.Transition) -> None:
        if episode.steps and episode.steps[-1].done:
            raise OutOfOrder(
                f"episode {episode.episode_id!r} ended at step {len(episode.steps) - 1}; "
                "start a new episode_id"
            )
        if transition.step != len(episode.steps):
            raise OutOfOrder(
                f"episode {episode.episode_id!r} expects step {len(episode.steps)} next, "
                f"not {transition.step}; send the missing steps first"
            )

    async def _look_up_before_sending(self, episode: Episode) -> None:
        """What the pair updates look up, fetched before a pipeline leaves no room for it:
        the vectors of the earlier calls' observations they may use, and how to search."""
        n = self.memory.n_step
        # Pairs still due are the last n − 1 received (all of them for Monte-Carlo).
        first_due = 0 if n is None else max(0, len(episode.steps) - n + 1)
        window = episode.steps[first_due:]
        await self._need_vectors([episode.task] + [s.observation for s in window])
        if n is not None:
            await uses_index(self.session, self.memory, self.search, 1 + TIE_MARGIN)

    async def _learn_from(
        self, send: Send, episode: Episode, transition: schemas.Transition
    ) -> list[SentPair]:
        due = due_pairs(transition.step, transition.done, self.memory.n_step)
        return [await self._update_pair(send, episode, t, horizon) for t, horizon in due]

    async def _update_pair(
        self, send: Send, episode: Episode, t: int, horizon: int | None
    ) -> SentPair:
        step = episode.steps[t]
        key = record_key(episode.task, step.observation)
        action: dict[str, object] = {
            "action_key": sha256(step.action),
            "action": step.action,
            "note": step.note,
        }
        if not await self._touch_record(send, episode, t, key, action):
            return SentPair(step.observation, step.action, learned=None)
        targets, binds = await self._targets(episode, t, horizon)
        learned = await send(
            _learn_sql(self.memory, targets),
            {**binds, **action, "m": self.memory.id, "key": key, "reward": step.reward},
        )
        return SentPair(step.observation, step.action, learned, await self._pruned(learned))

    async def _pruned(self, learned: Pending) -> list[str]:
        """The actions of the learned pair's record that action capacity dropped."""
        if self.memory.action_capacity is None:
            return []
        record_id = (await learned.one()).record_id
        return await capacity.prune_actions(self.session, self.memory, record_id)

    async def _targets(
        self, episode: Episode, t: int, horizon: int | None
    ) -> tuple[str, dict[str, object]]:
        """The pair's targets: as SQL for the learning statement's `targets` CTE, and binds."""
        gamma = self.memory.gamma
        if horizon is None:
            return _GIVEN_TARGETS, Targets.final(
                episode.target_without_bootstrap(t, gamma)
            ).params()
        rewards = discounted_sum(episode.rewards[t + 1 : t + horizon + 1], gamma)
        task, observation = episode.task, episode.observation(t + horizon)
        await self._need_vectors([task, observation])
        if self.memory.observation_similarity == LCS:
            best = await self._best_value(task, observation)
            return _GIVEN_TARGETS, Targets.bootstrapped(rewards, gamma**horizon, best).params()
        index = await uses_index(self.session, self.memory, self.search, 1 + TIE_MARGIN)
        binds = search_binds(
            self._vectors[task], self._vectors[observation], self.memory.lambda_, 1, 1 + TIE_MARGIN
        )
        binds.update(
            m=self.memory.id,
            next_key=record_key(task, observation),
            rewards=rewards,
            discount=gamma**horizon,
        )
        return _bootstrapped_targets(self.memory, index), binds

    async def _touch_record(
        self, send: Send, episode: Episode, t: int, key: bytes, action: dict[str, object]
    ) -> bool:
        """Writes the pair's state record (False if item capacity does not admit it)."""
        observation = episode.observation(t)
        await self._need_vectors([episode.task, observation])
        task_vector, observation_vector = self._vectors[episode.task], self._vectors[observation]
        state = capacity.State(key, task_vector, observation_vector, observation)
        admission = await capacity.admit(self.session, self.memory, self.search, state)
        if not admission.admitted:
            return False
        rewards = episode.rewards
        touched = await send(
            _touch_record_sql(self.memory),
            {
                "m": self.memory.id,
                "key": key,
                "task": episode.task,
                "observation": observation,
                "embedding": np.concatenate([task_vector, observation_vector]),
                "last_reward": rewards[t],
                "total_reward": sum(rewards[: t + 1]),
                "history": json.dumps([s.action for s in episode.steps[:t]]),
                **action,
            },
        )
        if not self._pipelined:
            record = await touched.one()
            if record.created:
                await capacity.settle(self.session, self.memory, record.id, admission)
        return True

    async def _best_value(self, task: str, observation: str) -> BestValues:
        """max_a Q of the observation's own record, else of the nearest record, for "lcs"
        memories, whose nearest record is found by a re-rank in Python."""
        own = (
            await self.session.execute(
                _OWN_RECORD_VALUE, {"m": self.memory.id, "key": record_key(task, observation)}
            )
        ).one_or_none()
        if own is not None:
            return BestValues.of(own)
        nearest = await rank(
            self.session,
            self.memory,
            self._vectors[task],
            self._vectors[observation],
            k=1,
            lambda_=self.memory.lambda_,
            params=self.search,
            observation_text=observation,
        )
        if not nearest:
            return BestValues()
        best = await self.session.execute(_RECORD_VALUE, {"id": nearest[0].record_id})
        return BestValues.of(best.one())

    def _step_row(
        self,
        episode: Episode,
        transition: schemas.Transition,
        updated: list[schemas.UpdatedValue],
    ) -> dict[str, object]:
        return {
            "m": self.memory.id,
            "e": episode.episode_id,
            **transition.model_dump(),
            "updated": json.dumps([u.model_dump() for u in updated]),
        }

    async def _need_vectors(self, texts: Iterable[str], commit_encoded: bool = False) -> None:
        missing = {t for t in texts if t not in self._vectors}
        if missing and self._sending:
            raise RuntimeError("a vector was looked up while statements were being pipelined")
        if missing:
            self._vectors.update(
                await self.vectors.resolve(self.session, self.memory, missing, commit_encoded)
            )


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)
