"""Rendering retrieved exemplars as REMEMBERER-style in-context examples."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._exceptions import InvalidArgumentError
from ._models import ActionValue, Record, Reflection

__all__ = ["format_exemplars"]


def format_exemplars(
    exemplars: Iterable[Record],
    *,
    max_actions: int = 5,
    include_notes: bool = True,
    include_scores: bool = False,
    precision: int = 2,
    max_text_chars: int | None = None,
    reflections: Sequence[Reflection | str] = (),
) -> str:
    """Render exemplars (or any records) as numbered examples for an LLM prompt.

    Each example shows the task, the observation, the last ``max_actions`` actions
    taken before that state (oldest first; the section is left out when
    ``max_actions`` is 0), one encouraged action and the discouraged ones, each with
    its Q value and, if ``include_notes``, the note recorded with it:

    - **Encouraged** is the action with the highest Q, provided that Q is above 0:
      an action that never paid off is never recommended.
    - **Discouraged** are the other actions whose Q is at most 0, lowest first. When
      there are none but the state has several actions, the lowest one is
      discouraged, so that the model always sees a contrast.

    Ties are broken by more visits first, then by action text, so the same records
    always give the same text. Examples are separated by a blank line; no records
    give ``""``. ``include_scores`` adds the retrieval score to each heading (for
    exemplars), ``precision`` is the number of decimals, and ``max_text_chars``
    shortens long tasks and observations (ending them with "…").

    >>> from rememberer_client import ActionValue, Exemplar
    >>> exemplar = Exemplar(
    ...     record_id=7, task="buy a red mug under $10",
    ...     observation="results: [1] red mug $8; [2] blue mug $5",
    ...     visits=3, last_reward=0.0, total_reward=0.0,
    ...     action_history=["search[mug]", "search[red mug]"],
    ...     actions=[
    ...         ActionValue(action="click[1]", q=1.0, reward=1.0, visits=2,
    ...                     note="red and cheap"),
    ...         ActionValue(action="next_page", q=0.25, reward=0.0, visits=1),
    ...         ActionValue(action="click[2]", q=-0.5, reward=-0.5, visits=1),
    ...     ],
    ...     score=0.93, task_score=1.0, observation_score=0.86,
    ... )
    >>> print(format_exemplars([exemplar], include_scores=True))
    Example 1 (similarity 0.93):
    Task: buy a red mug under $10
    Observation: results: [1] red mug $8; [2] blue mug $5
    Last actions:
    - search[mug]
    - search[red mug]
    Encouraged:
    - click[1] -> Q = 1.00 (red and cheap)
    Discouraged:
    - click[2] -> Q = -0.50

    Multi-line texts start on the line after their label, indented by two spaces.

    ``reflections`` (from ``retrieve_with_reflections``, or plain strings) follow the
    examples, Reflexion-style, as one trial per line after "Your memory for this task:".
    Reflection objects are numbered oldest first, whatever order they come in; strings
    keep the order given. ``max_text_chars`` shortens them too.

    >>> print(format_exemplars([], reflections=["I clicked a blue mug; read colours first."]))
    Your memory for this task:
    Trial 1: I clicked a blue mug; read colours first.
    """
    if max_actions < 0:
        raise InvalidArgumentError("max_actions must be >= 0")
    if precision < 0:
        raise InvalidArgumentError("precision must be >= 0")
    if max_text_chars is not None and max_text_chars < 1:
        raise InvalidArgumentError("max_text_chars must be >= 1 or None")

    blocks = []
    for index, record in enumerate(exemplars, start=1):
        blocks.append(
            _format_one(
                index,
                record,
                max_actions=max_actions,
                include_notes=include_notes,
                include_scores=include_scores,
                precision=precision,
                max_text_chars=max_text_chars,
            )
        )
    if reflections:
        blocks.append(_format_memory(reflections, max_text_chars))
    return "\n\n".join(blocks)


def _format_memory(reflections: Sequence[Reflection | str], max_text_chars: int | None) -> str:
    texts: list[str]
    if all(isinstance(r, Reflection) for r in reflections):
        oldest_first = sorted(
            (r for r in reflections if isinstance(r, Reflection)),
            key=lambda r: (r.created_at, r.reflection_id),
        )
        texts = [r.text for r in oldest_first]
    else:
        texts = [r.text if isinstance(r, Reflection) else r for r in reflections]
    lines = ["Your memory for this task:"]
    for trial, text in enumerate(texts, start=1):
        lines.append(f"Trial {trial}: {_indent_rest(_shorten(text.strip(), max_text_chars))}")
    return "\n".join(lines)


def _split_actions(
    actions: Sequence[ActionValue],
) -> tuple[ActionValue | None, list[ActionValue]]:
    """(encouraged, discouraged) actions of a state, by the rules of ``format_exemplars``."""
    ordered = sorted(actions, key=lambda a: (-a.q, -a.visits, a.action))
    encouraged = ordered[0] if ordered and ordered[0].q > 0 else None
    rest = ordered[1:] if encouraged is not None else ordered
    discouraged = [a for a in reversed(rest) if a.q <= 0]
    if not discouraged and len(ordered) >= 2:
        discouraged = [ordered[-1]]
    return encouraged, discouraged


def _format_one(
    index: int,
    record: Record,
    *,
    max_actions: int,
    include_notes: bool,
    include_scores: bool,
    precision: int,
    max_text_chars: int | None,
) -> str:
    heading = f"Example {index}"
    score = getattr(record, "score", None)
    if include_scores and isinstance(score, float | int):
        heading += f" (similarity {_number(float(score), precision)})"
    lines = [heading + ":"]
    lines.append(_field("Task", _shorten(record.task, max_text_chars)))
    lines.append(_field("Observation", _shorten(record.observation, max_text_chars)))
    if max_actions > 0:
        history = record.action_history[-max_actions:]
        if history:
            lines.append("Last actions:")
            lines.extend(_item(action) for action in history)
        else:
            lines.append("Last actions: (none)")

    encouraged, discouraged = _split_actions(record.actions)

    def describe(value: ActionValue) -> str:
        text = f"{value.action} -> Q = {_number(value.q, precision)}"
        if include_notes and value.note:
            text += f" ({value.note})"
        return _item(text)

    if encouraged is None:
        lines.append("Encouraged: (none)")
    else:
        lines.extend(["Encouraged:", describe(encouraged)])
    if discouraged:
        lines.append("Discouraged:")
        lines.extend(describe(value) for value in discouraged)
    else:
        lines.append("Discouraged: (none)")
    return "\n".join(lines)


def _number(value: float, precision: int) -> str:
    text = f"{value:.{precision}f}"
    # "-0.00" would read as a (tiny) penalty.
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


def _shorten(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"


def _indent_rest(text: str) -> str:
    # Continuation lines stay inside their bullet or field.
    return text.replace("\n", "\n  ")


def _field(label: str, text: str) -> str:
    if "\n" in text:
        return f"{label}:\n  {_indent_rest(text)}"
    return f"{label}: {text}"


def _item(text: str) -> str:
    return f"- {_indent_rest(text)}"
