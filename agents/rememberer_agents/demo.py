"""``make learn``: the default demo, written up as ``docs/LEARNING.md``.

Runs ``rememberer-agents learn`` with the default settings (its own service on an embedded
database) into ``docs/learning/`` and writes ``docs/LEARNING.md``: the machine, the
command, the plot and the tables. Extra arguments go to ``learn``.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rememberer_agents import cli

DEFAULT_ARGS = (
    "--env", "textworld",
    "--games", "coin_collector:6,simple:6",
    "--episodes", "12",
    "--agents", "4",
    "--policy", "exemplar",
)  # fmt: skip


def machine() -> str:
    """One line about where the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main(argv: Sequence[str] | None = None, docs: Path = Path("docs")) -> int:
    out = docs / "learning"
    args = [*DEFAULT_ARGS, *(argv if argv is not None else sys.argv[1:])]
    command = ["learn", *args, "--out", str(out)]
    started = time.monotonic()
    status = cli.main(command)
    minutes = (time.monotonic() - started) / 60
    summary = (out / "summary.md").read_text().split("\n", 1)[1]  # without its title
    text = "\n".join(
        [
            "# Agents that learn through the memory",
            "",
            "Written by `make learn` (`python -m rememberer_agents.demo`); the raw rows are in",
            "[learning/results.jsonl](learning/results.jsonl). How the agents decide, the",
            "settings and why: [../agents/README.md](../agents/README.md); what the numbers",
            "mean, target by target:",
            "[What the default demo shows](../agents/README.md#what-the-default-demo-shows).",
            "",
            f"- Machine: {machine()}",
            f"- Run time: {minutes:.1f} min (all conditions, one service on an embedded "
            "PostgreSQL)",
            "",
            "![learning curve](learning/learning_curve.png)",
            summary,
        ]
    )
    (docs / "LEARNING.md").write_text(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
