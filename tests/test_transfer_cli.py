"""`rememberer import`/`export` as a user meets them: help, keys, file modes, and pools of the
paper's code where one action appears under two notes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from rememberer.cli import main
from rememberer.config import Settings
from rememberer.interop import pools

from tests.support.http import ServerThread

ADMIN_KEY = "transfer-admin-key-0123456789"
RUN = [sys.executable, "-m", "rememberer.cli"]

# The paper's format: action tuples (action, note); "click [Buy Now]" under two notes.
TWO_NOTES_POOL = """\
? !!python/tuple
- 'page one'
- 'Instruction: buy a red mug'
- "['click [Buy Now]']"
: action_dict:
    ? !!python/tuple
    - click [Buy Now]
    - the mug is red
    : {number: 3, qvalue: 1.0, reward: 1.0}
    ? !!python/tuple
    - click [Buy Now]
    - it is cheap
    : {number: 1, qvalue: -0.5, reward: 0.0}
    ? !!python/tuple
    - search [red mug]
    - ''
    : {number: 2, qvalue: 0.25, reward: 0.0}
  other_info:
    action_history:
    - !!python/tuple
      - search [red mug]
      - ''
    last_reward: 1.0
    number: 6
    total_reward: 1.0
  id: 0
"""


def help_text(*command: str) -> str:
    done = subprocess.run([*RUN, *command, "--help"], capture_output=True, text=True, check=True)
    return done.stdout


def test_top_level_help_speaks_to_users() -> None:
    text = help_text()
    assert "rememberer." not in text, "an internal module name in the help"
    assert "REMEMBERER_" in text and "/docs" in text


@pytest.mark.parametrize("command", ["import", "export"])
def test_import_and_export_take_an_api_key(command: str) -> None:
    text = " ".join(help_text(command).split())
    assert "--api-key" in text and "$REMEMBERER_API_KEY" in text and "$REMEMBERER_URL" in text
    assert "import creates it" not in text


def test_a_short_admin_key_is_one_line_without_a_traceback() -> None:
    env = {**os.environ, "REMEMBERER_ADMIN_KEY": "short-key"}
    done = subprocess.run([*RUN, "migrate"], capture_output=True, text=True, env=env)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "rememberer: invalid setting: REMEMBERER_ADMIN_KEY: must be at least 16 characters"
    ], done.stderr
    assert "short-key" not in done.stderr


@pytest.fixture(scope="module")
def secured(database_url: str) -> Iterator[ServerThread]:
    settings = Settings(database_url=None, admin_key=ADMIN_KEY, db_pool_size=2)
    with ServerThread(settings, database_url) as running:
        yield running


@pytest.fixture
def admin(secured: ServerThread) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=secured.url, headers=headers, timeout=60) as client:
        yield client


def client_memory(admin: httpx.Client, name: str, texts: set[str]) -> None:
    admin.post("/v1/memories", json={"name": name, "embedder": "client", "dimension": 3})
    vectors = {t: [1.0, float(i), 0.5] for i, t in enumerate(sorted(texts))}
    assert admin.put(f"/v1/memories/{name}/embeddings", json={"embeddings": vectors}).is_success


def test_import_and_export_use_the_key_from_the_option_or_the_environment(
    secured: ServerThread,
    admin: httpx.Client,
    memory_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = tmp_path / "pool.yaml"
    pool.write_text(TWO_NOTES_POOL, encoding="utf-8")
    client_memory(admin, memory_name, {"page one", "Instruction: buy a red mug"})
    common = ["--memory", memory_name, "--url", secured.url, "--quiet"]
    monkeypatch.delenv("REMEMBERER_API_KEY", raising=False)
    assert main(["import", str(pool), *common]) == 1  # no key: 401, reported
    assert caplog.records[-1].getMessage().endswith("401") or "key" in caplog.text.lower()
    assert main(["import", str(pool), *common, "--api-key", ADMIN_KEY]) == 0
    monkeypatch.setenv("REMEMBERER_API_KEY", ADMIN_KEY)
    out = tmp_path / "out.jsonl"
    assert main(["export", "--format", "jsonl", "-o", str(out), *common]) == 0
    assert out.read_text(encoding="utf-8").count("\n") == 1


def test_an_export_is_written_like_any_other_file(
    secured: ServerThread,
    admin: httpx.Client,
    memory_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Records are not credentials: the file gets the umask's mode (not mkstemp's 0600), and
    a file it replaces keeps its own mode."""
    client_memory(admin, memory_name, set())
    monkeypatch.setenv("REMEMBERER_API_KEY", ADMIN_KEY)
    out = tmp_path / "pool.yaml"
    args = ["export", "--format", "rememberer-yaml", "-o", str(out), "--memory", memory_name]
    args += ["--url", secured.url, "--quiet"]
    previous = os.umask(0o022)
    try:
        assert main(args) == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
        out.chmod(0o640)
        assert main(args) == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o640
    finally:
        os.umask(previous)


def test_an_action_under_two_notes_is_one_value_and_exports_as_it_came(
    secured: ServerThread,
    admin: httpx.Client,
    memory_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = tmp_path / "pool.yaml"
    pool.write_text(TWO_NOTES_POOL, encoding="utf-8")
    client_memory(admin, memory_name, {"page one", "Instruction: buy a red mug"})
    monkeypatch.setenv("REMEMBERER_API_KEY", ADMIN_KEY)
    common = ["--memory", memory_name, "--url", secured.url, "--quiet"]
    assert main(["import", str(pool), *common]) == 0

    (record,) = admin.get(f"/v1/memories/{memory_name}/records").json()["items"]
    values = {a["action"]: a for a in record["actions"]}
    buy = values["click [Buy Now]"]
    # visits summed, q and reward weighted by visits, the most visited note.
    assert (buy["visits"], buy["note"]) == (4, "the mug is red")
    assert buy["q"] == pytest.approx((3 * 1.0 + 1 * -0.5) / 4)
    assert buy["reward"] == pytest.approx(0.75)
    assert len(record["extra"]["action_notes"]) == 2

    # Retrieval shows the action once, with the merged value.
    found = admin.post(
        f"/v1/memories/{memory_name}/retrieve",
        json={"task": "Instruction: buy a red mug", "observation": "page one", "k": 1},
    ).json()
    shown = [a["action"] for e in found["exemplars"] for a in e["actions"]]
    assert sorted(shown) == ["click [Buy Now]", "search [red mug]"]

    exported = tmp_path / "again.yaml"
    assert main(["export", "--format", "rememberer-yaml", "-o", str(exported), *common]) == 0
    original: Any = pools.load_pool(TWO_NOTES_POOL)
    assert pools.load_pool(exported.read_text(encoding="utf-8")) == original
    assert yaml.load(exported.read_text(encoding="utf-8"), Loader=yaml.FullLoader) == original


def test_once_learned_the_merged_value_exports_under_its_note() -> None:
    (item,) = pools.pool_items(pools.load_pool(TWO_NOTES_POOL))
    record = {**item, "actions": [dict(a) for a in item["actions"]]}
    buy = next(a for a in record["actions"] if a["action"] == "click [Buy Now]")
    buy.update(visits=5, q=0.9)  # the service updated it after the import
    (entry,) = pools.pool_of([record]).values()
    assert set(entry["action_dict"]) == {
        ("click [Buy Now]", "the mug is red"),
        ("search [red mug]", ""),
    }
    assert entry["action_dict"][("click [Buy Now]", "the mug is red")]["number"] == 5
