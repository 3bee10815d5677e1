"""The learning statements of RLEM (CONTRACT.md, "Update semantics", rule 3): updating a
pair creates or revisits its state record, ensures the action value exists (q = 0) before
the bootstrap look-up, then moves its visits, reward and q in one atomic statement.

Every Q/visit change is a single SQL statement, so concurrent agents never lose an update.
Each builder is cached per memory (its settings are part of the SQL) and shape.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import TextClause, text

from rememberer.learning import double_q
from rememberer.learning.double_q import RECORD, TARGET
from rememberer.learning.targets import moved_towards
from rememberer.memories.catalog import MemoryInfo
from rememberer.search.query import Filters
from rememberer.search.retrieval import ranking_sql, scans_for
from rememberer.storage.keys import EMBED_NEW_RECORD

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
# max_a Q of a state's own record (:key), and of a record by id: the "lcs" bootstrap, whose
# nearest record is found by a re-rank in Python.
OWN_RECORD_VALUE = text(
    f"SELECT r.id, v.* FROM records r, LATERAL (SELECT {double_q.BEST_VALUES} "
    "FROM action_values a WHERE a.record_id = r.id) v WHERE r.memory_id = :m AND r.key = :key"
)
RECORD_VALUE = text(f"SELECT {double_q.BEST_VALUES} FROM action_values a WHERE a.record_id = :id")


@lru_cache(maxsize=256)
def touch_record_sql(memory: MemoryInfo) -> TextClause:
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
# statement: given, or bootstrapped inside the statement (below).
GIVEN_TARGETS = (
    "SELECT CAST(:target AS float8) AS target, CAST(:target_a AS float8) AS target_a, "
    "CAST(:target_b AS float8) AS target_b"
)


@lru_cache(maxsize=256)
def bootstrapped_targets(memory: MemoryInfo, index: bool, many_tasks: bool) -> str:
    """Targets :rewards + :discount · max_a Q(o_{t+n}, a), where Q(o_{t+n}, ·) is the state's
    own record (:next_key), else the record ranked first for (task, o_{t+n}) (binds of
    `search_binds`), if it scores at least the memory's `bootstrap_min_score` (:min_score);
    with no record serving, max Q is 0 (no bootstrap term)."""
    filters = Filters(min_score=memory.bootstrap_min_score is not None)
    scans = scans_for(memory.lambda_, task_known=True, many_tasks=many_tasks)
    nearest = ranking_sql(memory, index, filters, scans)
    return f"""
        SELECT :rewards + :discount * COALESCE(best, 0) AS target,
               :rewards + :discount * COALESCE(best_b, 0) AS target_a,
               :rewards + :discount * COALESCE(best_a, 0) AS target_b
        FROM (
          SELECT {double_q.BEST_VALUES}
          FROM (
            (SELECT id FROM records WHERE memory_id = :m AND key = :next_key)
            UNION ALL
            (SELECT id FROM ({nearest}) nearest
             WHERE NOT EXISTS (SELECT 1 FROM records WHERE memory_id = :m AND key = :next_key))
            LIMIT 1
          ) state
          JOIN action_values a ON a.record_id = state.id
        ) best
    """


@lru_cache(maxsize=256)
def learn_sql(memory: MemoryInfo, targets: str) -> TextClause:
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
