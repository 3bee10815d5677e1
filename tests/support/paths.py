"""Where the tests find their data and keep their caches."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SHARED = Path(os.environ.get("REMEMBERER_SHARED_DIR", REPO.parent / "shared"))

# The embedder converted for OpenVINO, kept between runs (git ignores it): converting it
# again costs every test session about half a minute. It is the tests' own, never the user's.
EMBEDDER_CACHE = REPO / ".cache" / "embedders"
