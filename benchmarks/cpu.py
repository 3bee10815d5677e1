"""CPU time of the service process and of the database server, read from /proc, so that a
throughput can be split into whose work it is."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.database import plain_url

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSeconds:
    service: float
    database: float

    def __sub__(self, earlier: CpuSeconds) -> CpuSeconds:
        return CpuSeconds(self.service - earlier.service, self.database - earlier.database)


def _stat(pid: int) -> list[str]:
    # The command name may hold spaces and parentheses: the fields start after the last ")".
    text = Path(f"/proc/{pid}/stat").read_text()
    return text.rsplit(")", 1)[1].split()


def _seconds(fields: list[str], *indexes: int) -> float:
    return sum(int(fields[i]) for i in indexes) / CLOCK_TICKS


# Indexes into the fields after the command name (proc(5) numbering minus three).
_PPID, _UTIME, _STIME, _CUTIME, _CSTIME = 1, 11, 12, 13, 14


def process_seconds(pid: int) -> float:
    return _seconds(_stat(pid), _UTIME, _STIME)


def server_seconds(postmaster: int) -> float:
    """The postmaster, its exited children (backends of closed connections) and its live
    ones (open connections, background workers)."""
    total = _seconds(_stat(postmaster), _UTIME, _STIME, _CUTIME, _CSTIME)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat(int(entry.name))
        except OSError:  # exited meanwhile
            continue
        if int(fields[_PPID]) == postmaster:
            total += _seconds(fields, _UTIME, _STIME)
    return total


def postmaster_of(database_url: str) -> int:
    """The server's main process: the parent of a backend (this machine's server only)."""
    with psycopg.connect(plain_url(database_url)) as connection:
        row = connection.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        return int(_stat(int(row[0]))[_PPID])  # while the backend lives


@dataclass(frozen=True)
class CpuMeter:
    service_pid: int
    postmaster_pid: int

    @classmethod
    def of(cls, service_pid: int, database_url: str) -> CpuMeter:
        return cls(service_pid, postmaster_of(database_url))

    def read(self) -> CpuSeconds:
        return CpuSeconds(process_seconds(self.service_pid), server_seconds(self.postmaster_pid))
