"""The summary's per-kind table: what a mean over all games hides."""

from __future__ import annotations

from typing import Any

from rememberer_agents.report import game_kind, score_share, summary_markdown


def _row(condition: str, game: str, episode: int, won: bool, score: float) -> dict[str, Any]:
    return {
        "condition": condition,
        "game": game,
        "seed": int(game.rsplit("-", 1)[1]),
        "episode": episode,
        "agent": 0,
        "steps": 10 if won else 40,
        "score": score,
        "max_score": 10.0,
        "won": won,
        "seconds": 1.0,
        "memory_seconds": 0.1,
        "agents": 1,
    }


def test_the_kind_is_the_game_name_without_its_seed() -> None:
    assert game_kind({"game": "coin_collector-101"}) == "coin_collector"
    assert game_kind({"game": "simple-2"}) == "simple"


def test_score_share_counts_how_far_lost_episodes_got() -> None:
    rows = [_row("memory", "simple-2", 0, False, 9.0), _row("memory", "simple-2", 1, True, 10.0)]
    assert score_share(rows) == 0.95


def test_each_kind_gets_its_own_last_third_line() -> None:
    rows = [
        _row(condition, game, episode, won=condition == "memory" and kind == "coin", score=s)
        for condition in ("memory", "no_memory")
        for kind, game, s in (("coin", "coin_collector-1", 10.0), ("simple", "simple-2", 9.0))
        for episode in range(3)
    ]
    summary = summary_markdown(rows)
    section = summary.split("## Per game kind, last third", 1)[1].split("##", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert lines[1:] == [
        "| coin_collector | memory | 1.00 | 1.00 | 10.0 | 10.0 |",
        "| coin_collector | no_memory | 0.00 | 1.00 | 40.0 | – |",
        "| simple | memory | 0.00 | 0.90 | 40.0 | – |",
        "| simple | no_memory | 0.00 | 0.90 | 40.0 | – |",
    ]
