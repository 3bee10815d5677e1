"""The system under test: an embedded PostgreSQL and the service as its own process
(`rememberer serve`), so that its latency, throughput and resident memory are its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from rememberer.storage.embedded import EmbeddedPostgres
from rememberer.storage.migrate import upgrade

from benchmarks.seed import plain_url

STARTUP_SECONDS = 120


@contextmanager
def database(data_dir: Path) -> Iterator[str]:
    """A fresh, migrated database on an embedded PostgreSQL kept in `data_dir`."""
    postgres = EmbeddedPostgres(data_dir)
    url = postgres.start()
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain_url(url), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    bench_url = url.replace(f"/{postgres.database}?", f"/{name}?", 1)
    upgrade(bench_url)
    try:
        yield bench_url
    finally:
        postgres.stop()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """`rememberer serve` in a child process; `settings` are REMEMBERER_* overrides."""

    def __init__(self, database_url: str, settings: Mapping[str, str], log: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "REMEMBERER_LOG_LEVEL": "warning"}
        # The service runs from the project's environment alone (packages added to the
        # benchmark's own path, such as ONNX Runtime, must not change what it loads).
        env.pop("PYTHONPATH", None)
        env.update({f"REMEMBERER_{k.upper()}": v for k, v in settings.items()})
        command = [sys.executable, "-m", "rememberer.cli", "serve"]
        command += ["--database-url", database_url, "--port", str(self.port)]
        self._log = log.open("ab")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=self._log)
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the service did not become ready")

    def resident_bytes(self) -> tuple[int, int]:
        """(current, peak) resident set size of the service process."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
        return fields["VmRSS"], fields["VmHWM"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
