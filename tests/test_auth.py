"""API keys against a real server started with an admin key: 401 without a key, the admin
can do everything, scoped keys see and touch only their memories, revocation, and the CLI's
refusal to serve an open service beyond loopback."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from rememberer.cli import exposure_allowed
from rememberer.config import Settings
from rememberer_client import (
    AsyncMemoryClient,
    AuthenticationError,
    MemoryClient,
    NotFoundError,
    PermissionDeniedError,
)

from tests.support.http import ServerThread, assert_error

ADMIN_KEY = "admin-key-for-tests-0123456789"


@pytest.fixture(scope="module")
def secured(database_url: str) -> Iterator[ServerThread]:
    settings = Settings(database_url=None, admin_key=ADMIN_KEY, db_pool_size=4)
    with ServerThread(settings, database_url) as running:
        yield running


def as_key(server: ServerThread, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)


@pytest.fixture
def admin(secured: ServerThread) -> Iterator[httpx.Client]:
    with as_key(secured, ADMIN_KEY) as client:
        yield client


def mint(admin: httpx.Client, *memories: str) -> dict[str, str]:
    response = admin.post("/v1/keys", json={"name": "agents", "memories": list(memories)})
    assert response.status_code == 201, response.text
    minted: dict[str, str] = response.json()
    return minted


def test_every_v1_request_needs_a_key(secured: ServerThread, memory_name: str) -> None:
    for key in (None, "wrong-key-0123456789", "x" * 5000):
        with as_key(secured, key) as client:
            for response in (
                client.get("/v1/memories"),
                client.post("/v1/memories", json={"name": memory_name}),
                client.get(f"/v1/memories/{memory_name}/records"),
                client.post("/v1/keys", json={"name": "k", "memories": [memory_name]}),
            ):
                assert_error(response, 401, "unauthorized")
                assert response.headers["www-authenticate"] == "Bearer"
    basic = httpx.get(f"{secured.url}/v1/memories", headers={"Authorization": f"Basic {ADMIN_KEY}"})
    assert_error(basic, 401, "unauthorized")
    # Nothing else is revealed first: not a malformed body, not whether a route exists.
    with as_key(secured, "wrong-key-0123456789") as stranger:
        malformed = stranger.post(
            "/v1/memories", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert_error(malformed, 401, "unauthorized")
        assert_error(stranger.get("/v1/no-such-route"), 401, "unauthorized")
        assert_error(stranger.get("/v1/memories", params={"limit": "x"}), 401, "unauthorized")
    with as_key(secured, None) as anonymous:
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/metrics").status_code == 200
        assert_error(anonymous.get(f"/v1/memories/{memory_name}"), 401, "unauthorized")


def test_scoped_key_sees_and_touches_only_its_memories(
    secured: ServerThread, admin: httpx.Client, memory_name: str
) -> None:
    mine, theirs, later = f"{memory_name}-mine", f"{memory_name}-theirs", f"{memory_name}-later"
    for name in (mine, theirs):
        assert admin.post("/v1/memories", json={"name": name}).status_code == 201
    key = mint(admin, mine, later)
    assert key["key"].startswith("rmb_") and sorted(key["memories"]) == sorted([mine, later])
    with as_key(secured, key["key"]) as scoped:
        assert scoped.get(f"/v1/memories/{mine}").status_code == 200
        # Another memory answers exactly as a missing one, whatever the call.
        for response in (
            scoped.get(f"/v1/memories/{theirs}"),
            scoped.delete(f"/v1/memories/{theirs}"),
            scoped.get(f"/v1/memories/{theirs}/records"),
            scoped.get(f"/v1/memories/{theirs}/records/1"),
            scoped.post(f"/v1/memories/{theirs}/retrieve", json={"task": "t", "observation": "o"}),
            scoped.put(f"/v1/memories/{theirs}/embeddings", json={"embeddings": {}}),
            scoped.post(
                f"/v1/memories/{theirs}/update",
                json={"episode_id": "e", "task": "t", "transitions": []},
            ),
        ):
            assert_error(response, 404, "memory_not_found")
        listed = {m["name"] for m in scoped.get("/v1/memories").json()["items"]}
        assert listed == {mine}
        # A name in its scope may be created; any other may not.
        assert scoped.post("/v1/memories", json={"name": later}).status_code == 201
        assert_error(scoped.post("/v1/memories", json={"name": f"{theirs}-2"}), 403, "forbidden")
        # No key management with a scoped key.
        assert_error(
            scoped.post("/v1/keys", json={"name": "k", "memories": [mine]}), 403, "forbidden"
        )
        assert_error(scoped.get("/v1/keys"), 403, "forbidden")
        assert_error(scoped.delete(f"/v1/keys/{key['id']}"), 403, "forbidden")
    assert admin.get(f"/v1/memories/{theirs}").status_code == 200  # untouched


def test_keys_are_stored_hashed_listed_without_secret_and_revocable(
    secured: ServerThread, admin: httpx.Client, database_url: str, memory_name: str
) -> None:
    key = mint(admin, memory_name)
    plain = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as connection:
        row = connection.execute(
            "SELECT key_sha256, name, memories FROM api_keys WHERE id = %s", (key["id"],)
        ).fetchone()
    assert row is not None
    assert bytes(row[0]) == hashlib.sha256(key["key"].encode()).digest()
    assert key["key"] not in repr(row)
    listed = admin.get("/v1/keys", params={"limit": 1000}).json()["items"]
    (shown,) = [k for k in listed if k["id"] == key["id"]]
    assert "key" not in shown and shown["memories"] == [memory_name]

    with as_key(secured, key["key"]) as scoped:
        assert_error(scoped.get(f"/v1/memories/{memory_name}"), 404, "memory_not_found")
        assert admin.delete(f"/v1/keys/{key['id']}").status_code == 204
        assert_error(scoped.get(f"/v1/memories/{memory_name}"), 401, "unauthorized")
    assert_error(admin.delete(f"/v1/keys/{key['id']}"), 404, "key_not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "k", "memories": []},
        {"name": "k", "memories": ["Not A Name"]},
        {"name": "", "memories": ["ok"]},
        {"name": "k\x00", "memories": ["ok"]},
        {"memories": ["ok"]},
        {"name": "k", "memories": "ok"},
    ],
)
def test_invalid_key_requests_are_422(admin: httpx.Client, body: dict[str, object]) -> None:
    assert_error(admin.post("/v1/keys", json=body), 422, "invalid_request")


def test_sdk_sends_its_api_key(
    secured: ServerThread, admin: httpx.Client, memory_name: str
) -> None:
    key = mint(admin, memory_name)
    with MemoryClient(secured.url, api_key=key["key"]) as client:
        client.create_memory(memory_name, embedder="client", dimension=3)
        assert [m.name for m in client.list_memories().items] == [memory_name]
        with pytest.raises(NotFoundError):
            client.get_memory(f"{memory_name}-other")
    with (
        MemoryClient(secured.url, api_key="not-a-key", max_retries=0) as client,
        pytest.raises(AuthenticationError),
    ):
        client.get_memory(memory_name)


@pytest.mark.parametrize(
    ("host", "admin_key", "insecure", "allowed"),
    [
        ("127.0.0.1", None, False, True),
        ("localhost", None, False, True),
        ("::1", None, False, True),
        ("0.0.0.0", None, False, False),
        ("192.0.2.10", None, False, False),
        ("example.org", None, False, False),
        ("0.0.0.0", None, True, True),
        ("0.0.0.0", ADMIN_KEY, False, True),
    ],
)
def test_open_service_stays_on_loopback_unless_insecure(
    host: str, admin_key: str | None, insecure: bool, allowed: bool
) -> None:
    settings = Settings(host=host, admin_key=admin_key)
    assert exposure_allowed(settings, insecure=insecure) is allowed


def test_serve_refuses_a_public_host_without_a_key(database_url: str, tmp_path: Path) -> None:
    serve = [sys.executable, "-m", "rememberer.cli", "serve", "--database-url", database_url]
    done = subprocess.run(
        [*serve, "--host", "0.0.0.0"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert b"REMEMBERER_ADMIN_KEY" in done.stderr and b"--insecure" in done.stderr


def test_openapi_documents_the_key_only_when_one_is_required(
    secured: ServerThread, server: ServerThread
) -> None:
    secured_doc = httpx.get(f"{secured.url}/openapi.json").json()
    assert secured_doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    update = secured_doc["paths"]["/v1/memories/{memory}/update"]["post"]
    assert update["security"] == [{"bearer": []}]
    assert "security" not in secured_doc["paths"]["/healthz"]["get"]
    open_doc = httpx.get(f"{server.url}/openapi.json").json()
    assert "securitySchemes" not in open_doc.get("components", {})
    assert "security" not in open_doc["paths"]["/v1/memories/{memory}/update"]["post"]


def test_sdk_manages_keys(secured: ServerThread, memory_name: str) -> None:
    with MemoryClient(secured.url, api_key=ADMIN_KEY) as admin_client:
        admin_client.create_memory(memory_name, embedder="client", dimension=3)
        created = admin_client.create_key("agent team", [memory_name])
        assert created.key not in repr(created)
        listed = [k for k in admin_client.list_keys(limit=1000).items if k.id == created.id]
        assert [(k.name, k.memories) for k in listed] == [("agent team", [memory_name])]
        with MemoryClient(secured.url, api_key=created.key) as scoped:
            assert scoped.get_memory(memory_name).name == memory_name
            with pytest.raises(PermissionDeniedError):
                scoped.create_key("more", [memory_name])
            admin_client.revoke_key(created.id)
            with pytest.raises(AuthenticationError):
                scoped.get_memory(memory_name)

    async def async_admin() -> list[str]:
        async with AsyncMemoryClient(secured.url, api_key=ADMIN_KEY) as client:
            minted = await client.create_key("async", [memory_name])
            names = [k.name for k in (await client.list_keys(limit=1000)).items]
            await client.revoke_key(minted.id)
            return [n for n in names if n == "async"]

    assert asyncio.run(async_admin())
