"""`rememberer serve` as a real subprocess against a given database: the one launcher of
the tests that kill, stop or duplicate the service process and of the benchmarks, which
measure the service's latency, throughput and resident memory as its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from tests.support.http import free_port, loopback_url
from tests.support.paths import EMBEDDER_CACHE
from tests.support.processes import resident_bytes

STARTUP_SECONDS = 120


def wait_ready(
    url: str, process: subprocess.Popen[bytes], seconds: float = STARTUP_SECONDS
) -> None:
    """Until the service at `url` answers /readyz with 200 (its process must stay alive)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the service exited early ({process.returncode})"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the service did not become ready")


def service_environment(settings: Mapping[str, str], cache_dir: Path) -> dict[str, str]:
    """The environment of a service process: only the settings given (as REMEMBERER_*
    variables) and the embedder cache, none leaking in from the environment of the run;
    the project's own packages alone (no PYTHONPATH additions such as a benchmark's)."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("REMEMBERER_") and key != "PYTHONPATH"
    }
    own = {f"REMEMBERER_{key.upper()}": value for key, value in settings.items()}
    return {
        **inherited,
        "HF_HUB_OFFLINE": "1",
        "REMEMBERER_CACHE_DIR": str(cache_dir),
        **own,
    }


class ServiceProcess:
    """One service process; `start()` again after a kill serves on the same port.

    `settings` are Settings fields (`{"workers": "2"}`); the log goes to `log_path`, by
    default a file in `workdir`, which is also the process's working directory (an empty
    folder, so that no stray .env file changes the settings)."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *,
        settings: Mapping[str, str] | None = None,
        port: int | None = None,
        log_path: Path | None = None,
        cache_dir: Path = EMBEDDER_CACHE,
    ) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.port = port or free_port()
        self.env = service_environment(settings or {}, cache_dir)
        self.log_path = log_path or workdir / f"service-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return loopback_url(self.port)

    def start(self) -> ServiceProcess:
        self.launch()
        self.wait_ready()
        return self

    def launch(self) -> None:
        command = [sys.executable, "-m", "rememberer.cli", "serve"]
        command += ["--database-url", self.database_url, "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.workdir, env=self.env, stdout=log, stderr=log
            )

    def wait_ready(self, seconds: float = STARTUP_SECONDS) -> None:
        try:
            wait_ready(self.url, self.running_process, seconds)
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n{self.log()}") from None

    @property
    def running_process(self) -> subprocess.Popen[bytes]:
        assert self.process is not None, "the service was never launched"
        return self.process

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, in-flight requests die with the process."""
        self.running_process.send_signal(signal.SIGKILL)
        self.running_process.wait(timeout=30)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit code."""
        self.running_process.send_signal(signal.SIGTERM)
        return self.running_process.wait(timeout=timeout)

    def resident_bytes(self) -> tuple[int, int]:
        """(current, peak) resident set size of the service process."""
        return resident_bytes(self.running_process.pid)

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
        """A graceful stop; a kill if the service does not stop within 30 s."""
        if not self.running:
            return
        try:
            self.stop(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
