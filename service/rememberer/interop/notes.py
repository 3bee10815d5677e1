"""One action under several notes: how a pool of the paper's code fits a record.

The paper's code keys an action value by the tuple `(action, note)`, so a trained pool can
hold the same action text under two notes (the reasons the LLM gave on different visits).
The service keys action values by the action's text alone. On import, such variants become
one action value, the one the service learns with from then on:

- `visits` = the sum of the variants' visits;
- `q` and `reward` = their means weighted by visits (plain means if no variant has a visit).
  Under the paper's mean update a Q-value is the mean of the targets it saw, so this is the
  value the action would have had if its targets had all been counted under one key;
- `note` = the note of the most visited variant (the first of those in the pool on a tie).

The variants themselves are kept, exactly, in the record's `extra["action_notes"]`
(a list of `{action, note, q, reward, visits}`), and `export` writes them back as they came,
for as long as the merged value is the one the import made. Once the service has updated
that action, its values no longer divide among the notes: export writes the one action value
under its note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

Item = dict[str, Any]
EXTRA_KEY = "action_notes"


def merge_variants(actions: list[Item]) -> tuple[list[Item], list[Item]]:
    """One action value per action text, in first-seen order, and the variants that were
    merged (empty when every action text has one note)."""
    groups: dict[str, list[Item]] = {}
    for action in actions:
        groups.setdefault(action["action"], []).append(action)
    merged: list[Item] = []
    variants: list[Item] = []
    for group in groups.values():
        if len(group) == 1:
            merged.append(group[0])
        else:
            merged.append(merged_value(group))
            variants.extend(group)
    return merged, variants


def merged_value(group: list[Item]) -> Item:
    visits = sum(int(a["visits"]) for a in group)
    weights = [float(a["visits"]) for a in group] if visits else [1.0] * len(group)
    total = sum(weights)
    # max() keeps the first of equals: the first most visited variant gives the note.
    primary = max(group, key=lambda a: int(a["visits"]))
    return {
        "action": primary["action"],
        "note": primary["note"],
        "q": sum(w * float(a["q"]) for w, a in zip(weights, group, strict=True)) / total,
        "reward": sum(w * float(a["reward"]) for w, a in zip(weights, group, strict=True)) / total,
        "visits": visits,
    }


def pool_actions(record: Mapping[str, Any]) -> list[tuple[str, str, Item]]:
    """`(action, note, values)` for each entry of the pool's action_dict of a record: the
    kept variants of an action still as imported, else the action itself."""
    kept = _kept_variants(record.get("extra"))
    entries: list[tuple[str, str, Item]] = []
    for action in record["actions"]:
        group = kept.get(action["action"])
        if group and _unchanged(merged_value(group), action):
            entries.extend((v["action"], v["note"] or "", v) for v in group)
        else:
            entries.append((action["action"], action["note"] or "", action))
    return entries


def _kept_variants(extra: Any) -> dict[str, list[Item]]:
    variants = extra.get(EXTRA_KEY) if isinstance(extra, dict) else None
    groups: dict[str, list[Item]] = {}
    if not isinstance(variants, list):
        return groups
    for variant in variants:
        if _is_variant(variant):
            groups.setdefault(variant["action"], []).append(variant)
    return groups


def _is_variant(value: Any) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("action"), str):
        return False
    numbers = (value.get("q"), value.get("reward"), value.get("visits"))
    plain = all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers)
    return plain and isinstance(value.get("note"), str | None)


def _unchanged(merged: Item, stored: Mapping[str, Any]) -> bool:
    """The stored action value is still the import's merge (a float through JSON and the
    database may differ in the last bit)."""
    return (
        int(stored["visits"]) == merged["visits"]
        and math.isclose(float(stored["q"]), merged["q"], rel_tol=1e-12, abs_tol=1e-12)
        and math.isclose(float(stored["reward"]), merged["reward"], rel_tol=1e-12, abs_tol=1e-12)
    )
