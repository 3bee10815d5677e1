"""Fixtures of the agents' tests; the service and its database come from tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def game_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of generated games for the session: each game is made once (≈4 s)."""
    return tmp_path_factory.mktemp("games")
