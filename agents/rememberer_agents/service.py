"""Starting a Rememberer service of one's own for a run (``rememberer serve`` on its
embedded PostgreSQL, in a scratch data folder), when no ``--url`` is given."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

__all__ = ["own_service"]

log = logging.getLogger(__name__)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rememberer_command() -> list[str]:
    beside_python = Path(sys.executable).parent / "rememberer"
    if beside_python.exists():
        return [str(beside_python)]
    found = shutil.which("rememberer")
    if found is None:
        raise RuntimeError(
            "no --url given and the `rememberer` service is not installed here; "
            "install it (pip install rememberer) or pass --url of a running service"
        )
    return [found]


@contextmanager
def own_service(startup_seconds: float = 180.0) -> Iterator[str]:
    """Yields the base URL of a fresh service; stops it (and its database) on exit."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="rememberer-agents-") as data_dir:
        command = [
            *_rememberer_command(),
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(Path(data_dir) / "pg"),
        ]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "REMEMBERER_LOG_LEVEL": "warning"}
        log_path = Path(data_dir) / "service.log"
        with log_path.open("w") as service_log:
            process = subprocess.Popen(
                command, stdout=service_log, stderr=subprocess.STDOUT, env=env
            )
            try:
                url = f"http://127.0.0.1:{port}"
                _wait_ready(url, process, startup_seconds, log_path)
                log.info("service started at %s (pid %d)", url, process.pid)
                yield url
            finally:
                _stop(process)


def _wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float, log_path: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited at start:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the service was not ready within {seconds:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # SIGTERM: the service finishes its requests and stops its embedded database.
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
