"""`rememberer serve` as a real subprocess against the test database, for tests that kill,
stop or duplicate the service process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from tests.conftest import free_port


def wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 90) -> None:
    """Until the service at `url` answers /readyz with 200 (its process must stay alive)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the service exited early"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the service did not become ready")


class ServiceProcess:
    """One service process; `start()` again after a kill serves on the same port."""

    def __init__(
        self, database_url: str, workdir: Path, *, port: int | None = None, **env: str
    ) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.port = port or free_port()
        # Only the settings a test gives: none leak in from the environment of the run.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("REMEMBERER_")}
        self.env = {**inherited, "HF_HUB_OFFLINE": "1", **env}
        self.log_path = workdir / f"service-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        self.launch()
        self.wait_ready()
        return self

    def launch(self) -> None:
        command = [
            sys.executable,
            "-m",
            "rememberer.cli",
            "serve",
            "--database-url",
            self.database_url,
            "--port",
            str(self.port),
        ]
        with self.log_path.open("ab") as log:
            # cwd: an empty folder, so that no stray .env file changes the settings.
            self.process = subprocess.Popen(
                command, cwd=self.workdir, env=self.env, stdout=log, stderr=log
            )

    def wait_ready(self, seconds: float = 90) -> None:
        assert self.process is not None
        try:
            wait_ready(self.url, self.process, seconds)
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n{self.log()}") from None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, in-flight requests die with the process."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self.running:
            self.kill()
