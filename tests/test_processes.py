"""Faults against real services: two processes on one database, one killed with SIGKILL in
the middle of a load, one stopped with SIGTERM while a request is in flight, and a database
that goes away and comes back."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from rememberer.config import Settings
from rememberer.storage.embedded import EmbeddedPostgres
from rememberer_client import MemoryClient

from tests.support.agents import (
    OTHER_TASK,
    TASK,
    HttpAgents,
    Workload,
    assert_exact,
    create_path_memory,
    run_agents,
    transition,
)
from tests.support.database import plain_url, wait_for_a_lock_wait
from tests.support.http import ServerThread
from tests.support.service import ServiceProcess


def test_two_processes_behave_as_one(database_url: str, tmp_path: Path, memory_name: str) -> None:
    first, second = ServiceProcess(database_url, tmp_path), ServiceProcess(database_url, tmp_path)
    first.launch()
    second.launch()
    try:
        first.wait_ready()
        second.wait_ready()
        with httpx.Client(base_url=first.url, timeout=60) as api:
            create_path_memory(api, memory_name)
            workload = Workload(agents=16, episodes=2, length=3)
            # Steps of one episode alternate between the processes; each retry goes to the
            # process that did not answer the first time, and must answer the same.
            with HttpAgents([first.url, second.url], memory_name) as agents:
                run_agents(workload, agents, resend=True)
            assert_exact(api, memory_name, workload)
        with httpx.Client(base_url=second.url, timeout=60) as other:
            assert_exact(other, memory_name, workload)
    finally:
        first.kill()
        second.kill()


class SdkAgents:
    """Agents on the client SDK, which retries connection errors with backoff, counting
    what the service acknowledged."""

    def __init__(self, url: str, memory: str) -> None:
        self.memory = memory
        self.client = MemoryClient(url, max_retries=12)
        self.acknowledged: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, agent: int, route: str, body: dict[str, Any]) -> dict[str, Any]:
        result = self.client.update(
            self.memory, body["episode_id"], body["task"], body["transitions"]
        )
        answer = result.model_dump(mode="json")
        with self._lock:
            self.acknowledged.append({"request": body, "answer": answer})
        return answer

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)


def test_sigkill_mid_load_loses_no_acknowledged_update(
    database_url: str, tmp_path: Path, memory_name: str
) -> None:
    service = ServiceProcess(database_url, tmp_path).start()
    try:
        with httpx.Client(base_url=service.url, timeout=60) as api:
            create_path_memory(api, memory_name)
            open_episode = OpenEpisode(api, memory_name)
        workload = Workload(agents=8, episodes=8, length=3)  # 192 calls, one step each
        agents = SdkAgents(service.url, memory_name)
        killed_at: list[int] = []

        def kill_mid_load_and_restart() -> None:
            deadline = time.monotonic() + 120  # if the agents fail early, give up quietly
            while agents.count < 40:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.005)
            service.kill()
            killed_at.append(agents.count)
            service.start()  # same port: the SDK's retries reach the new process

        killer = threading.Thread(target=kill_mid_load_and_restart, daemon=True)
        killer.start()
        run_agents(workload, agents)
        killer.join(timeout=120)
        agents.client.close()
        assert killed_at and 40 <= killed_at[0] < 192, "the kill did not land mid-load"

        with httpx.Client(base_url=service.url, timeout=60) as api:
            # Every planned step applied exactly once: nothing acknowledged was lost, the
            # step in flight at the kill was applied once (by the first try or the retry).
            assert_exact(api, memory_name, workload)
            # Each acknowledged answer is the one the restarted service keeps for that step.
            for done in agents.acknowledged:
                replay = api.post(f"/v1/memories/{memory_name}/update", json=done["request"])
                assert replay.json() == done["answer"]
            open_episode.continues(api)
    finally:
        if service.running:
            service.kill()


class OpenEpisode:
    """An episode left open (one of three steps sent) across the kill."""

    def __init__(self, api: httpx.Client, memory: str) -> None:
        self.path = f"/v1/memories/{memory}/update"
        self.memory = memory
        self.first_step = self.body(0)
        self.first_answer = api.post(self.path, json=self.first_step).json()
        assert self.first_answer["episode"] == {"episode_id": "open", "next_step": 1, "done": False}

    @staticmethod
    def body(step: int) -> dict[str, Any]:
        return {
            "episode_id": "open",
            "task": OTHER_TASK,
            "transitions": [transition(0, 0, step, 3)],
        }

    def continues(self, api: httpx.Client) -> None:
        assert api.get(f"/v1/memories/{self.memory}").json()["episodes_open"] == 1
        assert api.post(self.path, json=self.body(2)).json()["error"]["code"] == "out_of_order"
        assert api.post(self.path, json=self.first_step).json() == self.first_answer
        for step in (1, 2):
            answer = api.post(self.path, json=self.body(step)).json()
            assert answer["episode"]["next_step"] == step + 1
        assert answer["episode"]["done"] is True
        assert api.get(f"/v1/memories/{self.memory}").json()["episodes_open"] == 0


def wait_until_refused(url: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
        except httpx.TransportError:
            return
        time.sleep(0.05)
    raise AssertionError(f"{url} still answers")


def test_sigterm_lets_the_request_in_flight_finish(
    database_url: str, tmp_path: Path, memory_name: str
) -> None:
    service = ServiceProcess(database_url, tmp_path).start()
    update = f"{service.url}/v1/memories/{memory_name}/update"
    step = {"episode_id": "slow", "task": TASK, "transitions": [transition(0, 0, 0, 2)]}
    with httpx.Client(base_url=service.url, timeout=60) as api:
        create_path_memory(api, memory_name)
        assert api.post(update, json=step).status_code == 200
    answers: list[httpx.Response] = []
    step = {**step, "transitions": [transition(0, 0, 1, 2)]}
    with (
        psycopg.connect(plain_url(database_url)) as holder,
        psycopg.connect(plain_url(database_url), autocommit=True) as observer,
    ):
        # Hold the episode's row lock, so the next step's request waits inside the service.
        holder.execute(
            "SELECT 1 FROM episodes e JOIN memories m ON m.id = e.memory_id "
            "WHERE m.name = %s AND e.episode_id = 'slow' FOR UPDATE",
            (memory_name,),
        )
        sender = threading.Thread(
            target=lambda: answers.append(
                httpx.post(update, json=step, headers={"X-Request-ID": "in-flight-1"}, timeout=60)
            )
        )
        sender.start()
        wait_for_a_lock_wait(observer)  # the request reached the database
        assert service.process is not None
        service.process.send_signal(signal.SIGTERM)
        wait_until_refused(f"{service.url}/healthz")  # no new work is accepted
        assert service.running, "the service quit with a request in flight"
        assert sender.is_alive() and not answers, "the request in flight was cut short"
        holder.rollback()  # the lock goes; the request can finish
        sender.join(timeout=30)
    assert service.process.wait(timeout=30) == 0
    (answer,) = answers
    assert answer.status_code == 200, answer.text
    assert answer.json()["episode"] == {"episode_id": "slow", "next_step": 2, "done": True}
    assert answer.headers["x-request-id"] == "in-flight-1"
    lines = [json.loads(line) for line in service.log().splitlines() if line.startswith("{")]
    (access,) = [line for line in lines if line.get("request_id") == "in-flight-1"]
    assert access["logger"] == "rememberer.access"
    assert access["http"]["route"] == "/v1/memories/{memory}/update"
    assert access["http"]["status"] == 200


def set_database_online(admin_url: str, name: str, online: bool) -> None:
    with psycopg.connect(plain_url(admin_url), autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.SQL("true" if online else "false")
            )
        )
        if not online:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )


def test_database_outage_is_503_and_the_sdk_rides_it_out(
    postgres: EmbeddedPostgres,
    own_database: tuple[str, str],
    memory_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name, url = own_database
    admin_url = postgres.start()
    with ServerThread(Settings(), url) as server, MemoryClient(server.url) as client:
        client.create_memory(memory_name, embedder="client", dimension=3)
        set_database_online(admin_url, name, online=False)
        try:
            down = httpx.get(f"{server.url}/v1/memories/{memory_name}", timeout=30)
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] == "unavailable"
            assert down.headers["retry-after"] == "1"
            threading.Timer(1.5, set_database_online, (admin_url, name, True)).start()
            with caplog.at_level(logging.INFO, logger="rememberer_client"):
                memory = client.get_memory(memory_name, max_retries=8)
        finally:
            set_database_online(admin_url, name, online=True)
    assert memory.name == memory_name
    assert any("-> 503; retry" in r.getMessage() for r in caplog.records)


def test_workers_share_one_port_and_stop_together(
    database_url: str, tmp_path: Path, memory_name: str
) -> None:
    """REMEMBERER_WORKERS=2: two service processes behind one port, both stopped by SIGTERM."""
    import psutil

    from tests.support.memories import client_memory, step, update

    service = ServiceProcess(database_url, tmp_path, settings={"workers": "2"}).start()
    try:
        workers = psutil.Process(service.process.pid).children()  # type: ignore[union-attr]
        # uvicorn's workers are spawned processes (multiprocessing's resource tracker is not one).
        serving = [w for w in workers if "spawn_main" in " ".join(w.cmdline())]
        assert len(serving) >= 2, [w.cmdline() for w in workers]
        with httpx.Client(base_url=service.url, timeout=30) as api:
            client_memory(api, memory_name)
            for episode in range(6):  # several connections, so both workers take requests
                answer = update(api, memory_name, f"e{episode}", step(0, "a", "go", 1.0, "b", True))
                assert answer.status_code == 200, answer.text
            body = {"task": "task", "observation": "a", "k": 1}
            found = api.post(f"/v1/memories/{memory_name}/retrieve", json=body).json()
        assert found["exemplars"][0]["actions"][0]["visits"] == 6
        # The workers log too (their access lines), not only the parent process.
        assert f"/v1/memories/{memory_name}/update" in service.log(), service.log()
    finally:
        assert service.stop() == 0, service.log()
    _, alive = psutil.wait_procs(serving, timeout=10)
    assert not alive, [w.cmdline() for w in alive]
