"""What the kernel says about a process."""

from __future__ import annotations

from pathlib import Path

KIB = 1024


def resident_bytes(pid: int) -> tuple[int, int]:
    """(current, peak) resident set size of process `pid`, from /proc."""
    sizes: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            sizes[key] = int(value.split()[0]) * KIB
    return sizes["VmRSS"], sizes["VmHWM"]
