"""RLEM: REMEMBERER's experience-memory update by n-step Q-learning (CONTRACT.md, "Update
semantics"). The rule itself is rememberer.learning.targets; this module runs one call:

1. the request's texts are embedded and their vectors committed on their own, worth keeping
   whatever becomes of the update;
2. in one transaction, retried whole on a serialization failure or deadlock
   (rememberer.storage.transactions): the episode is locked with its stored steps
   (learning.episodes), the call is planned (learning.plan: outcomes, due pairs, targets,
   the texts they need), everything the plan needs is looked up, then the state records
   are locked in one global order (storage.state_locks, so calls over the same states never
   deadlock) and the pair updates are sent (learning.pairs), as one pipeline where the
   memory allows; the new steps and the episode are saved, reflections noted;
3. the result carries the answer and what the call applied, for the route's metrics.

Memory options beyond the contract's core: learning.double_q and learning.capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import schemas
from rememberer.embedding.embedder import Vector
from rememberer.learning import reflections
from rememberer.learning.episodes import Episode, lock_episode, save_steps
from rememberer.learning.pairs import (
    BOOTSTRAP_CANDIDATES,
    Lookups,
    OneByOne,
    SentPair,
    pipelines,
    send_pipelined,
)
from rememberer.learning.plan import (
    Applied,
    Plan,
    RepeatedInCall,
    Replayed,
    plan_call,
)
from rememberer.memories.catalog import MemoryInfo
from rememberer.search.retrieval import LCS, SearchParams, uses_index
from rememberer.search.vectors import VectorStore
from rememberer.storage import state_locks
from rememberer.storage.db import statements
from rememberer.storage.transactions import in_transaction


@dataclass(frozen=True)
class UpdateResult:
    response: schemas.UpdateResponse
    # What the committed attempt applied (replayed steps apply nothing), for metrics.
    applied_transitions: int
    applied_values: int


class Updater:
    """Applies `update` calls of one memory; owns its session's transactions."""

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

    async def run(self, request: schemas.UpdateRequest) -> UpdateResult:
        texts = {request.task}
        for transition in request.transitions:
            texts.update((transition.observation, transition.next_observation))
        known = await self.vectors.resolve(self.session, self.memory, texts)
        # Embeddings computed on the way are committed on their own: worth keeping whatever
        # the update's fate. Texts of earlier calls' steps are found later, already stored.
        await self.session.commit()
        return await in_transaction(
            self.session,
            lambda: self._apply(request, known),
            f"update of episode {request.episode_id!r}",
        )

    async def _apply(
        self, request: schemas.UpdateRequest, known: dict[str, Vector]
    ) -> UpdateResult:
        episode = await lock_episode(self.session, self.memory.id, request.episode_id, request.task)
        plan = plan_call(episode, request.transitions, self.memory.n_step, self.memory.gamma)
        lookups = await self._look_up(plan, episode.task, known)
        sent = await self._send(plan, episode.task, lookups)
        answers, applied = await self._answers(plan, episode, sent)
        await save_steps(self.session, self.memory.id, episode, applied)
        await reflections.note_uses(
            self.session,
            self.memory.id,
            episode.episode_id,
            request.reflection_ids,
            ended=episode.closed,
            episode_return=episode.total_return,
        )
        last = request.transitions[-1]
        response = schemas.UpdateResponse(
            updated=answers,
            episode=schemas.EpisodeState(
                episode_id=episode.episode_id,
                next_step=last.step + 1,
                done=last.done or last.truncated,
            ),
        )
        return UpdateResult(response, len(applied), sum(len(u) for _, u in applied))

    async def _look_up(self, plan: Plan, task: str, known: dict[str, Vector]) -> Lookups:
        """Every vector the plan needs (earlier steps' texts are stored already), and how the
        bootstraps rank, decided before a statement of the plan is sent."""
        vectors = dict(known)
        missing = plan.texts(task) - vectors.keys()
        if missing:
            vectors.update(await self.vectors.resolve(self.session, self.memory, missing))
        index = False
        if plan.bootstraps and self.memory.observation_similarity != LCS:
            index = await uses_index(
                self.session, self.memory, self.search, BOOTSTRAP_CANDIDATES, self.memory.lambda_
            )
        return Lookups(vectors, index, self.memory.id in self.search.many_task_memories)

    async def _send(self, plan: Plan, task: str, lookups: Lookups) -> dict[int, list[SentPair]]:
        """The pair updates of each applied step, by step, sent after the state locks."""
        pipelined = pipelines(self.memory)
        sent: dict[int, list[SentPair]] = {}
        one_by_one = OneByOne(self.session, self.memory, self.search, lookups)
        async with statements(self.session, pipelined) as send:
            await state_locks.lock_states(send, self.memory.id, plan.written)
            for outcome in plan.outcomes:
                match outcome:
                    case Applied(transition=transition, pairs=pairs) if pipelined:
                        sent[transition.step] = await send_pipelined(
                            send, self.memory, task, pairs, lookups
                        )
                    case Applied(transition=transition, pairs=pairs):
                        sent[transition.step] = await one_by_one.write(send, task, pairs)
                    case Replayed() | RepeatedInCall():
                        pass
        return sent

    @staticmethod
    async def _answers(
        plan: Plan, episode: Episode, sent: dict[int, list[SentPair]]
    ) -> tuple[
        list[schemas.UpdatedValue], list[tuple[schemas.Transition, list[schemas.UpdatedValue]]]
    ]:
        """Per transition in request order, its answers: as applied before, as just applied,
        or (a step repeated within the call) as its first sending; and the applied steps."""
        answers: list[schemas.UpdatedValue] = []
        applied: list[tuple[schemas.Transition, list[schemas.UpdatedValue]]] = []
        for outcome in plan.outcomes:
            match outcome:
                case Replayed(answers=before):
                    answers.extend(before)
                case RepeatedInCall(step=step):
                    answers.extend(episode.answers[step])
                case Applied(transition=transition):
                    updated = [await pair.answer(episode.task) for pair in sent[transition.step]]
                    episode.answers[transition.step] = updated
                    applied.append((transition, updated))
                    answers.extend(updated)
        return answers, applied
