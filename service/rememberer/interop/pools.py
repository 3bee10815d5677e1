"""Experience pools of the REMEMBERER paper's code, and JSON Lines, as records.

A pool is a PyYAML dump of a dict: key `(observation, task, extra)` → `{action_dict,
other_info, id}`, where `action_dict` maps an action tuple `(action, note)` to `{number,
qvalue, reward}` and `other_info` holds `action_history` (action tuples), `last_reward`,
`total_reward` and `number`. As a record (the bulk endpoint's item):

    task = key[1], observation = key[0], visits = number, last_reward, total_reward,
    action_history = the actions of the history tuples,
    actions = [{action, note, q = qvalue, reward, visits = number}],
    extra = {"key": key[2], "history_notes": the notes of the history tuples, "id": id}
    (+ "action_notes" when an action appears under several notes: rememberer.interop.notes)

so that exporting the records gives the pool back. Records learned by the service have no
pool `extra`: they export with key[2] = "", empty notes and fresh ids.

A pool is read with a safe loader that builds plain YAML values and `!!python/tuple` only;
any other tag is refused with the line it is on. JSON Lines hold one item per line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO

import yaml

from rememberer.interop import notes as action_notes

TUPLE_TAG = "tag:yaml.org,2002:python/tuple"
# The plain YAML types a pool is made of; everything else (python objects, timestamps,
# binary, sets, custom tags) is refused.
_PLAIN_TAGS = ("null", "bool", "int", "float", "str", "seq", "map")

Item = dict[str, Any]


class PoolFormatError(ValueError):
    """The file is not a pool (or JSON Lines file) that can be imported; says where."""


class PoolLoader(yaml.SafeLoader):
    """Plain YAML values, and `!!python/tuple` as a tuple; no other tag is constructed."""


# Only these constructors, not SafeLoader's others (and never SafeLoader's own table).
PoolLoader.yaml_constructors = {
    tag: yaml.SafeLoader.yaml_constructors[tag]
    for tag in (f"tag:yaml.org,2002:{name}" for name in _PLAIN_TAGS)
}


def _construct_tuple(loader: yaml.SafeLoader, node: yaml.Node) -> tuple[Any, ...]:
    if not isinstance(node, yaml.SequenceNode):
        raise yaml.constructor.ConstructorError(
            None, None, "!!python/tuple must tag a sequence", node.start_mark
        )
    return tuple(loader.construct_sequence(node))


def _refuse(loader: yaml.SafeLoader, node: yaml.Node) -> None:
    raise yaml.constructor.ConstructorError(
        None,
        None,
        f"tag {_short(node.tag)} is not allowed in a pool (only !!python/tuple is)",
        node.start_mark,
    )


def _short(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!", 1)


PoolLoader.add_constructor(TUPLE_TAG, _construct_tuple)
PoolLoader.add_constructor(None, _refuse)


class PoolDumper(yaml.SafeDumper):
    """Writes tuples as `!!python/tuple`, which the paper's code (PyYAML's full loader) loads."""


def _represent_tuple(dumper: yaml.SafeDumper, data: tuple[Any, ...]) -> yaml.Node:
    return dumper.represent_sequence(TUPLE_TAG, data)


PoolDumper.add_representer(tuple, _represent_tuple)


# --- reading ---------------------------------------------------------------------------------


def load_pool(stream: str | TextIO, source: str = "pool") -> Any:
    """The pool's data, built by PoolLoader; PoolFormatError names the line of a problem."""
    loader = PoolLoader(stream)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        raise PoolFormatError(f"{source}, {where}: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise PoolFormatError(f"{source}: {exc}") from exc
    finally:
        loader.dispose()


def pool_items(pool: Any, source: str = "pool") -> list[Item]:
    """The records of a loaded pool, in its order."""
    if not isinstance(pool, dict):
        raise PoolFormatError(f"{source}: a pool maps key tuples to records; found {_kind(pool)}")
    items = []
    states: set[tuple[str, str]] = set()
    for number, (key, value) in enumerate(pool.items()):
        try:
            item = _item(key, value)
            # The service keys a record by (task, observation) alone.
            if (item["task"], item["observation"]) in states:
                raise PoolFormatError("another record has the same observation and task")
        except PoolFormatError as exc:
            raise PoolFormatError(f"{source}, record {number} ({_preview(key)}): {exc}") from None
        states.add((item["task"], item["observation"]))
        items.append(item)
    return items


def read_jsonl(lines: Iterable[str], source: str = "jsonl") -> list[Item]:
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise PoolFormatError(f"{source}, line {number}: not JSON: {exc}") from None
        if not isinstance(item, dict):
            raise PoolFormatError(f"{source}, line {number}: a line holds one record object")
        items.append(item)
    return items


def _item(key: Any, value: Any) -> Item:
    if not (isinstance(key, tuple) and len(key) == 3 and all(isinstance(k, str) for k in key)):
        raise PoolFormatError("a key must be a tuple (observation, task, extra) of 3 strings")
    value = _fields(value, "record", {"action_dict", "other_info", "id"})
    info = _fields(value["other_info"], "other_info", _INFO_FIELDS)
    history = _list(info["action_history"], "action_history")
    # The service keys action values by their text: one action under several notes becomes
    # one value, the variants kept in extra for export (rememberer.interop.notes).
    actions, variants = action_notes.merge_variants(
        [
            _action_value(a, stats)
            for a, stats in _fields(value["action_dict"], "action_dict", None).items()
        ]
    )
    return {
        "task": key[1],
        "observation": key[0],
        "visits": _count(info["number"], "other_info.number"),
        "last_reward": _number(info["last_reward"], "last_reward"),
        "total_reward": _number(info["total_reward"], "total_reward"),
        "action_history": [_action(entry)[0] for entry in history],
        "actions": actions,
        "extra": {
            "key": key[2],
            "history_notes": [_action(entry)[1] for entry in history],
            "id": _count(value["id"], "id"),
            **({action_notes.EXTRA_KEY: variants} if variants else {}),
        },
    }


_INFO_FIELDS = {"action_history", "last_reward", "total_reward", "number"}


def _action_value(action: Any, stats: Any) -> Item:
    name, note = _action(action)
    stats = _fields(stats, f"values of action {name[:80]!r}", {"number", "qvalue", "reward"})
    return {
        "action": name,
        "note": note,
        "q": _number(stats["qvalue"], "qvalue"),
        "reward": _number(stats["reward"], "reward"),
        "visits": _count(stats["number"], "number"),
    }


def _action(action: Any) -> tuple[str, str]:
    """(action, note) of an action tuple."""
    if isinstance(action, tuple) and len(action) == 2 and all(isinstance(a, str) for a in action):
        return action[0], action[1]
    raise PoolFormatError(f"an action must be a tuple (action, note) of 2 strings, not {action!r}")


def _fields(value: Any, what: str, expected: set[str] | None) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise PoolFormatError(f"{what} must be a mapping, not {_kind(value)}")
    if expected is not None and set(value) != expected:
        raise PoolFormatError(
            f"{what} must have exactly the fields {sorted(expected)}; it has {sorted(value)}"
        )
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise PoolFormatError(f"{what} must be a list, not {_kind(value)}")
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PoolFormatError(f"{what} must be a finite number, not {value!r}")
    return float(value)


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PoolFormatError(f"{what} must be a whole number ≥ 0, not {value!r}")
    return value


def _kind(value: Any) -> str:
    return type(value).__name__


def _preview(key: Any) -> str:
    shown = repr(key[1] if isinstance(key, tuple) and len(key) > 1 else key)
    return f"task {shown[:80]}"


# --- writing ---------------------------------------------------------------------------------


def pool_of(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], Item]:
    """The paper's pool of records (as records answer): keys and actions as tuples."""
    records = list(records)
    ids = _pool_ids(records)
    pool = {}
    for record, pool_id in zip(records, ids, strict=True):
        extra = record.get("extra")
        notes = _history_notes(extra, len(record["action_history"]))
        key = (record["observation"], record["task"], _key_extra(extra))
        pool[key] = {
            "action_dict": {
                (action, note): {"number": a["visits"], "qvalue": a["q"], "reward": a["reward"]}
                for action, note, a in action_notes.pool_actions(record)
            },
            "other_info": {
                "action_history": list(zip(record["action_history"], notes, strict=True)),
                "last_reward": record["last_reward"],
                "number": record["visits"],
                "total_reward": record["total_reward"],
            },
            "id": pool_id,
        }
    return pool


def dump_pool(records: Iterable[Mapping[str, Any]], stream: TextIO) -> None:
    yaml.dump(
        pool_of(records),
        stream,
        Dumper=PoolDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )


def record_item(record: Mapping[str, Any]) -> Item:
    """A record as the bulk endpoint takes it back (without its record_id)."""
    return {
        "task": record["task"],
        "observation": record["observation"],
        "visits": record["visits"],
        "last_reward": record["last_reward"],
        "total_reward": record["total_reward"],
        "action_history": list(record["action_history"]),
        "actions": [
            {k: a[k] for k in ("action", "note", "q", "reward", "visits")}
            for a in record["actions"]
        ],
        "extra": record.get("extra"),
    }


def jsonl_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record_item(record), ensure_ascii=False) + "\n"


def _key_extra(extra: Any) -> str:
    """key[2]: what the import kept, or a plain string `extra`, else ""."""
    if isinstance(extra, str):
        return extra
    if isinstance(extra, dict) and isinstance(extra.get("key"), str):
        return str(extra["key"])
    return ""


def _history_notes(extra: Any, length: int) -> list[str]:
    notes = extra.get("history_notes") if isinstance(extra, dict) else None
    if isinstance(notes, list) and len(notes) == length and all(isinstance(n, str) for n in notes):
        return notes
    return [""] * length


def _pool_ids(records: list[Mapping[str, Any]]) -> list[int]:
    """Each record's pool id: the one it was imported with, unless taken; else a fresh one."""
    wanted = []
    for record in records:
        extra = record.get("extra")
        pool_id = extra.get("id") if isinstance(extra, dict) else None
        valid = isinstance(pool_id, int) and not isinstance(pool_id, bool) and pool_id >= 0
        wanted.append(pool_id if valid else None)
    taken: set[int] = set()
    ids: list[int | None] = []
    for pool_id in wanted:
        if pool_id is not None and pool_id not in taken:
            taken.add(pool_id)
            ids.append(pool_id)
        else:
            ids.append(None)
    fresh = max(taken, default=-1) + 1
    assigned = []
    for pool_id in ids:
        if pool_id is None:
            pool_id, fresh = fresh, fresh + 1
        assigned.append(pool_id)
    return assigned
