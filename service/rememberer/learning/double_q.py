"""Double Q-learning (`double_q: true`, the paper's option against Q-learning's optimism).

Each action value keeps two estimates, `q_a` and `q_b`. Its n-th update (n = visits + 1)
changes one of them, alternating: odd n moves `q_a` towards a target that bootstraps with
max_a q_b of the next state, even n moves `q_b` with max_a q_a. `q` is kept equal to their
mean in the same statement, so ranking, records and exemplars read `q` as for any memory.
An estimate never set (an action value created before its first update, or imported) reads
as `q`. With "mean" updates each estimate averages its own targets: the chosen one has been
updated ⌊visits/2⌋ times before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rememberer.memories.catalog import MemoryInfo

# max_a of `q` and of each estimate, over the action values `a` of one record.
BEST_VALUES = (
    "max(a.q) AS best, max(COALESCE(a.q_a, a.q)) AS best_a, max(COALESCE(a.q_b, a.q)) AS best_b"
)


@dataclass(frozen=True)
class BestValues:
    """max_a Q(s, a) of a record: of `q`, and of each double-Q estimate."""

    q: float = 0.0
    a: float = 0.0
    b: float = 0.0

    @classmethod
    def of(cls, row: Any) -> BestValues:
        """From a row selected with BEST_VALUES (None, for a record without actions, is 0)."""
        return cls(float(row.best or 0.0), float(row.best_a or 0.0), float(row.best_b or 0.0))


@dataclass(frozen=True)
class Targets:
    """The update target of `q`, and of each estimate (which bootstraps with the other)."""

    q: float
    a: float
    b: float

    @classmethod
    def final(cls, value: float) -> Targets:
        return cls(value, value, value)

    @classmethod
    def bootstrapped(cls, rewards: float, discount: float, best: BestValues) -> Targets:
        return cls(
            rewards + discount * best.q, rewards + discount * best.b, rewards + discount * best.a
        )

    def params(self) -> dict[str, object]:
        return {"target": self.q, "target_a": self.a, "target_b": self.b}


# A target of the pair being learned, read from the learning statement's `targets` CTE.
TARGET = "(SELECT {name} FROM targets)"
# The pair's state record, written by the statement before (whose answer may not be back yet).
RECORD = "(SELECT id FROM records WHERE memory_id = :m AND key = :key)"


def learn_sql(memory: MemoryInfo) -> str:
    """visits + 1, reward towards r_{t+1}, one estimate towards its target, q = their mean."""
    if memory.update_mode == "mean":
        rate, reward_rate = "(1.0::float8 / (a.visits / 2 + 1))", "(1.0::float8 / (a.visits + 1))"
        first = 1.0
    else:
        rate = reward_rate = f"{float(memory.learning_rate)!r}::float8"
        first = memory.learning_rate
    old_a, old_b = "COALESCE(a.q_a, a.q)", "COALESCE(a.q_b, a.q)"
    target_a, target_b = TARGET.format(name="target_a"), TARGET.format(name="target_b")
    new_a = f"CASE WHEN a.visits % 2 = 0 THEN {old_a} + ({target_a} - {old_a}) * {rate} "
    new_a += f"ELSE {old_a} END"
    new_b = f"CASE WHEN a.visits % 2 = 1 THEN {old_b} + ({target_b} - {old_b}) * {rate} "
    new_b += f"ELSE {old_b} END"
    return f"""
        INSERT INTO action_values AS a (record_id, action_key, action, note, q, reward, visits,
                                        q_a, q_b)
        VALUES ({RECORD}, :action_key, :action, :note, {target_a} * {first!r}::float8 / 2,
                :reward * {first!r}::float8, 1, {target_a} * {first!r}::float8, 0)
        ON CONFLICT (record_id, action_key) DO UPDATE SET
          visits = a.visits + 1,
          reward = a.reward + (:reward - a.reward) * {reward_rate},
          q_a = {new_a},
          q_b = {new_b},
          q = ({new_a} + {new_b}) / 2,
          note = COALESCE(EXCLUDED.note, a.note)
        RETURNING record_id, q, visits
    """
