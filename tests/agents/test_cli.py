"""`rememberer-agents learn` end to end at a tiny size, against the session's service."""

from __future__ import annotations

import json
from pathlib import Path

from rememberer_agents.cli import main

from tests.support.http import ServerThread


def test_learn_writes_results_summary_and_plot(
    server: ServerThread, game_cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    status = main(
        [
            "learn",
            "--env", "textworld",
            "--game-seeds", "coin_collector:101",
            "--episodes", "2",
            "--agents", "2",
            "--transfer-games", "1",
            "--policy", "exemplar",
            "--url", server.url,
            "--cache-dir", str(game_cache),
            "--out", str(out),
            "--no-progress",
        ]
    )  # fmt: skip
    assert status == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    keys = {"condition", "game", "seed", "episode", "agent", "steps", "score", "max_score"}
    keys |= {"won", "seconds", "memory_seconds"}
    assert all(keys <= row.keys() for row in rows)
    counted: dict[tuple[str, int], int] = {}
    for row in rows:
        counted[(row["condition"], row["agents"])] = (
            counted.get((row["condition"], row["agents"]), 0) + 1
        )
    # 1 game x 2 episodes x 2 agents; in the solo run each of the 2 agents is alone.
    assert counted == {
        ("no_memory", 2): 4,
        ("memory", 2): 4,
        ("memory", 1): 4,
        ("transfer", 2): 4,
        ("transfer_baseline", 2): 4,
    }
    assert {row["game"] for row in rows if row["condition"] == "transfer"} == {
        "coin_collector-1101"
    }
    summary = (out / "summary.md").read_text()
    for heading in (
        "## Success and steps per condition",
        "## Agents alone vs 2 agents sharing one memory",
        "## Per game kind, last third",
        "## Transfer",
    ):
        assert heading in summary
    assert "## Targets" in summary
    assert (out / "learning_curve.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "reflections.jsonl").exists() and (out / "reflection_pairs.jsonl").exists()
