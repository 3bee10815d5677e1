"""Where the tests find their data and keep their caches."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Data the tests replay (RLEM cases, the paper's published pools), kept in the repository.
FIXTURES_DIR = REPO / "tests" / "fixtures"

# The embedder converted for OpenVINO, kept between runs (git ignores it): converting it
# again costs a test session about 20 s (19.6 s measured, against 0.6 s from this cache).
# It is the tests' own, never the user's.
EMBEDDER_CACHE = REPO / ".cache" / "embedders"
