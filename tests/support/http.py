"""The service over HTTP: free ports, the app served in a thread, the error body."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn
from fastapi import FastAPI
from rememberer.app import create_app
from rememberer.config import Settings

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def loopback_url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}"


class ServerThread:
    """uvicorn serving the app on a free loopback port, in a thread of this process."""

    def __init__(self, settings: Settings, database_url: str, app: FastAPI | None = None) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app or create_app(settings, database_url=database_url),
            host=LOOPBACK,
            port=self.port,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return loopback_url(self.port)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The response is the contract's error body with this status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
