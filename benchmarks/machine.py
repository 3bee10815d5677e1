"""What the numbers were measured on."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from benchmarks.seed import Connection


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    memory_gib: float
    load_average: tuple[float, float, float]
    kernel: str
    python: str
    torch: str
    sentence_transformers: str
    openvino: str
    cpu_flags: str
    postgresql: str
    pgvector: str
    shared_buffers: str

    def rows(self) -> list[tuple[str, str]]:
        load = ", ".join(f"{x:.2f}" for x in self.load_average)
        return [
            ("CPU", f"{self.cpu}, {self.cores} cores"),
            ("memory", f"{self.memory_gib:.1f} GiB"),
            ("load average at start (1, 5, 15 min)", load),
            ("kernel", self.kernel),
            ("Python", self.python),
            ("CPU features the embedder uses", self.cpu_flags),
            ("torch / sentence-transformers", f"{self.torch} / {self.sentence_transformers}"),
            ("OpenVINO", self.openvino),
            ("PostgreSQL / pgvector", f"{self.postgresql} / {self.pgvector}"),
            ("PostgreSQL shared_buffers", self.shared_buffers),
        ]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


# OpenVINO runs the model in bf16 where the CPU has AMX, and in fp32 (AVX-512 or AVX2) where
# it does not: the embedder's numbers depend on which.
_EMBEDDER_FLAGS = ("amx_bf16", "avx512_bf16", "avx512_vnni", "avx512f", "avx2")


def _cpu_flags() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            present = set(line.split(":", 1)[1].split())
            return ", ".join(f for f in _EMBEDDER_FLAGS if f in present) or "none of " + ", ".join(
                _EMBEDDER_FLAGS
            )
    return "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def describe(connection: Connection) -> Machine:
    server = connection.execute("SHOW server_version").fetchone()
    buffers = connection.execute("SHOW shared_buffers").fetchone()
    vector = connection.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
    ).fetchone()
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 0,
        memory_gib=_memory_gib(),
        load_average=os.getloadavg(),
        kernel=platform.release(),
        python=platform.python_version(),
        torch=version("torch"),
        sentence_transformers=version("sentence-transformers"),
        openvino=version("openvino"),
        cpu_flags=_cpu_flags(),
        postgresql=str(server[0]) if server else "?",
        pgvector=str(vector[0]) if vector else "?",
        shared_buffers=str(buffers[0]) if buffers else "?",
    )
