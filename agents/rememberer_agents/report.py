"""Results of a run: ``results.jsonl``, ``summary.md`` and ``learning_curve.png``.

Everything here reads result rows as plain dicts (as ``results.jsonl`` holds them), so a
report can be made again from the file alone.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "ResultsWriter",
    "Targets",
    "learning_curve",
    "load_rows",
    "summary_markdown",
    "targets",
]

RowDict = Mapping[str, Any]


class ResultsWriter:
    """Appends rows to ``results.jsonl`` as they come, flushed, so a stopped run keeps them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO = path.open("w", encoding="utf-8")

    def write(self, row: Mapping[str, Any]) -> None:
        self._file.write(json.dumps(row, sort_keys=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def load_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


# -- selections ----------------------------------------------------------------------------


def team_size(rows: Sequence[RowDict]) -> int:
    """The N of the run: the largest number of agents that shared a memory."""
    return max((int(r.get("agents", 1)) for r in rows), default=1)


def select(rows: Iterable[RowDict], condition: str, agents: int | None = None) -> list[RowDict]:
    return [
        r
        for r in rows
        if r["condition"] == condition and (agents is None or int(r.get("agents", 1)) == agents)
    ]


def last_third(rows: Sequence[RowDict]) -> list[RowDict]:
    episodes = max((int(r["episode"]) for r in rows), default=-1) + 1
    first = episodes - math.ceil(episodes / 3)
    return [r for r in rows if int(r["episode"]) >= first]


def first_third(rows: Sequence[RowDict]) -> list[RowDict]:
    episodes = max((int(r["episode"]) for r in rows), default=-1) + 1
    return [r for r in rows if int(r["episode"]) < math.ceil(episodes / 3)]


def success(rows: Sequence[RowDict]) -> float:
    return statistics.fmean(bool(r["won"]) for r in rows) if rows else float("nan")


def mean_steps(rows: Sequence[RowDict], won_only: bool = False) -> float:
    chosen = [int(r["steps"]) for r in rows if r["won"] or not won_only]
    return statistics.fmean(chosen) if chosen else float("nan")


def memory_share(rows: Sequence[RowDict]) -> float:
    wall = sum(float(r["seconds"]) for r in rows)
    return sum(float(r["memory_seconds"]) for r in rows) / wall if wall else float("nan")


def episodes_to_first_success(rows: Sequence[RowDict]) -> tuple[float, int, int]:
    """Mean over (agent, game) of the episodes played up to and including the first won
    one; (mean, how many never won, pairs). Never won counts as all episodes + 1."""
    by_pair: dict[tuple[int, str], list[RowDict]] = defaultdict(list)
    for r in rows:
        by_pair[(int(r["agent"]), str(r["game"]))].append(r)
    counts, never = [], 0
    for played in by_pair.values():
        played.sort(key=lambda r: int(r["episode"]))
        won = [int(r["episode"]) for r in played if r["won"]]
        if won:
            counts.append(won[0] + 1)
        else:
            never += 1
            counts.append(len(played) + 1)
    return (statistics.fmean(counts) if counts else float("nan")), never, len(by_pair)


def wall_seconds(rows: Sequence[RowDict]) -> float:
    """The condition's wall time: its agents ran at once, so the longest agent's total."""
    per_agent: dict[int, float] = defaultdict(float)
    for r in rows:
        per_agent[int(r["agent"])] += float(r["seconds"])
    return max(per_agent.values(), default=0.0)


def curve(rows: Sequence[RowDict], value: str) -> tuple[list[int], list[float], list[float]]:
    """Per episode: the mean over games of each game's mean (over agents), and the
    standard deviation over games."""
    per_game: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        per_game[int(r["episode"])][str(r["game"])].append(float(r[value]))
    episodes = sorted(per_game)
    means, spreads = [], []
    for episode in episodes:
        game_means = [statistics.fmean(v) for v in per_game[episode].values()]
        means.append(statistics.fmean(game_means))
        spreads.append(statistics.pstdev(game_means) if len(game_means) > 1 else 0.0)
    return episodes, means, spreads


# -- targets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """The issue's targets with the numbers a run got."""

    memory_last_third: float
    no_memory_last_third: float
    memory_steps_last_third: float
    no_memory_steps: float
    transfer_success: float
    transfer_baseline_success: float
    team_first_success: float
    solo_first_success: float
    memory_share: float

    def lines(self) -> list[str]:
        def mark(ok: bool) -> str:
            return "met" if ok else "**missed**"

        steps_ratio = self.memory_steps_last_third / self.no_memory_steps
        return [
            f"- Memory success in the last third ≥ 0.8: {self.memory_last_third:.2f} — "
            f"{mark(self.memory_last_third >= 0.8)}; no memory ≤ 0.3: "
            f"{self.no_memory_last_third:.2f} — {mark(self.no_memory_last_third <= 0.3)}.",
            f"- Steps per episode at least halved (memory, last third / no memory): "
            f"{self.memory_steps_last_third:.1f} / {self.no_memory_steps:.1f} = "
            f"{steps_ratio:.2f} — {mark(steps_ratio <= 0.5)}.",
            f"- Transfer beats a fresh memory (success over all episodes): "
            f"{self.transfer_success:.2f} vs {self.transfer_baseline_success:.2f} — "
            f"{mark(self.transfer_success > self.transfer_baseline_success)}.",
            f"- N sharing agents reach their first success in fewer episodes per agent than "
            f"each alone: {self.team_first_success:.2f} vs {self.solo_first_success:.2f} — "
            f"{mark(self.team_first_success < self.solo_first_success)}.",
            f"- Memory calls ≤ 5% of wall time: {100 * self.memory_share:.1f}% — "
            f"{mark(self.memory_share <= 0.05)}.",
        ]


def targets(rows: Sequence[RowDict]) -> Targets:
    n = team_size(rows)
    memory = select(rows, "memory", n)
    no_memory = select(rows, "no_memory")
    return Targets(
        memory_last_third=success(last_third(memory)),
        no_memory_last_third=success(last_third(no_memory)),
        memory_steps_last_third=mean_steps(last_third(memory)),
        no_memory_steps=mean_steps(no_memory),
        transfer_success=success(select(rows, "transfer")),
        transfer_baseline_success=success(select(rows, "transfer_baseline")),
        team_first_success=episodes_to_first_success(memory)[0],
        solo_first_success=episodes_to_first_success(select(rows, "memory", 1))[0],
        memory_share=memory_share(memory),
    )


# -- summary.md ----------------------------------------------------------------------------


def _table(header: Sequence[str], body: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines


def _f(value: float, digits: int = 2) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def _conditions(rows: Sequence[RowDict]) -> list[tuple[str, list[RowDict]]]:
    n = team_size(rows)
    chosen = []
    for condition in ("memory", "no_memory", "transfer", "transfer_baseline"):
        for agents in sorted(
            {int(r.get("agents", 1)) for r in select(rows, condition)}, reverse=True
        ):
            label = condition if agents == n else f"{condition} (each agent alone)"
            chosen.append((label, select(rows, condition, agents)))
    return chosen


# The conditions that play the training games (transfer plays other games).
TRAINED = ("memory", "no_memory")


def game_kind(row: RowDict) -> str:
    """``coin_collector`` of ``coin_collector-101``."""
    return str(row["game"]).rsplit("-", 1)[0]


def score_share(rows: Sequence[RowDict]) -> float:
    """Mean of score / max score: how far episodes got, won or not."""
    shares = [float(r["score"]) / float(r["max_score"]) for r in rows if float(r["max_score"])]
    return statistics.fmean(shares) if shares else float("nan")


def _by_kind_section(rows: Sequence[RowDict]) -> list[str]:
    """Last-third results per game kind: where a mean over all games hides which kind
    was learned and which was not."""
    trained = [(label, c) for label, c in _conditions(rows) if c[0]["condition"] in TRAINED]
    body = []
    for kind in sorted({game_kind(r) for r in rows}):
        for label, chosen in trained:
            late = last_third([r for r in chosen if game_kind(r) == kind])
            if late:
                body.append(
                    [
                        kind,
                        label,
                        _f(success(late)),
                        _f(score_share(late)),
                        _f(mean_steps(late), 1),
                        _f(mean_steps(late, won_only=True), 1),
                    ]
                )
    header = [
        "kind",
        "condition",
        "success",
        "score / max score",
        "steps",
        "steps when won",
    ]
    return ["## Per game kind, last third", "", *_table(header, body), ""]


def summary_markdown(
    rows: Sequence[RowDict],
    *,
    command: str = "",
    reflections: Mapping[str, float] | None = None,
) -> str:
    """The tables of a run, as Markdown."""
    n = team_size(rows)
    lines = ["# Learning through the memory", ""]
    if command:
        lines += ["```sh", command, "```", ""]
    lines += ["## Success and steps per condition", ""]
    body = []
    for label, chosen in _conditions(rows):
        games = len({r["game"] for r in chosen})
        episodes = max(int(r["episode"]) for r in chosen) + 1
        late = last_third(chosen)
        body.append(
            [
                label,
                str(games),
                str(episodes),
                str(max(int(r.get("agents", 1)) for r in chosen)),
                _f(success(first_third(chosen))),
                _f(success(late)),
                _f(mean_steps(late), 1),
                _f(mean_steps(late, won_only=True), 1),
            ]
        )
    lines += _table(
        [
            "condition",
            "games",
            "episodes",
            "agents",
            "success, first third",
            "success, last third",
            "steps, last third",
            "steps when won, last third",
        ],
        body,
    )
    lines += ["", "Steps count the step limit for episodes not won.", ""]
    lines += _by_kind_section(rows)

    lines += [f"## Agents alone vs {n} agents sharing one memory", ""]
    body = []
    for agents in sorted({int(r.get("agents", 1)) for r in select(rows, "memory")}):
        chosen = select(rows, "memory", agents)
        mean, never, pairs = episodes_to_first_success(chosen)
        players = len({r["agent"] for r in chosen})
        body.append(
            [
                f"{players} sharing one memory" if agents > 1 else f"{players}, each alone",
                _f(mean),
                f"{never}/{pairs}",
                _f(wall_seconds(chosen), 1),
                str(len(chosen)),
                f"{100 * memory_share(chosen):.1f}%",
            ]
        )
    lines += _table(
        [
            "agents",
            "episodes to first success, per agent and game",
            "never won",
            "wall time (s)",
            "episodes played",
            "share of wall time in memory calls",
        ],
        body,
    )
    lines += [
        "",
        "Never won counts as all episodes + 1. Wall time is the slowest agent's total.",
        "",
    ]
    transfer, baseline = select(rows, "transfer"), select(rows, "transfer_baseline")
    if transfer and baseline:
        lines += ["## Transfer to unseen games", ""]
        lines += _table(
            ["memory", "success, first third", "success, all", "steps, all"],
            [
                [
                    label,
                    _f(success(first_third(chosen))),
                    _f(success(chosen)),
                    _f(mean_steps(chosen), 1),
                ]
                for label, chosen in (
                    ("trained on other games (transfer)", transfer),
                    ("fresh (transfer_baseline)", baseline),
                )
            ],
        )
        lines.append("")
    if reflections:
        lines += ["## Reflections", ""]
        lines += [
            f"- {key}: {_f(value) if isinstance(value, float) else value}"
            for key, value in reflections.items()
        ]
        lines.append("")
    if select(rows, "memory") and select(rows, "no_memory"):
        lines += ["## Targets", "", *targets(rows).lines(), ""]
    return "\n".join(lines)


# -- learning_curve.png --------------------------------------------------------------------


def learning_curve(rows: Sequence[RowDict], path: Path, title: str = "") -> None:
    """Success rate and steps per episode, memory vs no memory: mean over games, shaded
    ± one standard deviation over games."""
    import matplotlib  # the `plot` extra

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    n = team_size(rows)
    series = [
        (
            f"memory ({n} agents sharing)" if n > 1 else "memory",
            select(rows, "memory", n),
            "C0",
            "-",
        ),
        ("no memory", select(rows, "no_memory"), "C3", "-"),
    ]
    if n > 1:
        series.append(("memory (each agent alone)", select(rows, "memory", 1), "C2", "--"))
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, chosen, color, style in series:
        if not chosen:
            continue
        for axis, value, clip in ((left, "won", True), (right, "steps", False)):
            episodes, means, spreads = curve(chosen, value)
            low = [m - s for m, s in zip(means, spreads, strict=True)]
            high = [m + s for m, s in zip(means, spreads, strict=True)]
            if clip:
                low, high = [max(0.0, v) for v in low], [min(1.0, v) for v in high]
            axis.plot(episodes, means, style, color=color, label=label, marker="o", markersize=3)
            axis.fill_between(episodes, low, high, color=color, alpha=0.15)
    left.set(xlabel="episode", ylabel="success rate", ylim=(-0.02, 1.02))
    left.set_title("Success rate per episode")
    right.set(xlabel="episode", ylabel="steps per episode (step limit when not won)")
    right.set_title("Steps per episode")
    left.legend(loc="best", fontsize=8)
    for axis in (left, right):
        axis.grid(alpha=0.3)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
