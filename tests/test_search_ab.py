"""The search A/B tool's variants: parsed strictly, applied only while asked, then undone."""

from __future__ import annotations

import pytest
from rememberer.memories.catalog import MemoryInfo
from rememberer.search import retrieval

from benchmarks.search_ab import Outcome, constants, parse_variant, render


def test_a_variant_names_numeric_constants_of_the_search() -> None:
    assert parse_variant("NEAR_TASKS=5,NEAR_TASK_OBSERVATION_WEIGHT=0.8") == {
        "NEAR_TASKS": 5,
        "NEAR_TASK_OBSERVATION_WEIGHT": 0.8,
    }
    assert isinstance(parse_variant("NEAR_TASKS=5")["NEAR_TASKS"], int)
    for bad in ("NO_SUCH_CONSTANT=1", "SEARCH_SETTINGS=1", "LCS=2"):
        with pytest.raises(ValueError):
            parse_variant(bad)
    with pytest.raises(ValueError):
        parse_variant("NEAR_TASKS=0.5")


def test_a_variant_changes_the_sql_only_while_it_applies() -> None:
    memory = MemoryInfo(
        id=7,
        name="m",
        gamma=1.0,
        n_step=None,
        update_mode="mean",
        learning_rate=0.5,
        lambda_=0.5,
        action_history_mode="newest",
        item_capacity=None,
        action_capacity=None,
        embedder="client",
        dimension=4,
    )
    scans = retrieval.scans_for(0.9, task_known=True)
    before = retrieval.candidates_sql(memory, True, scans=scans)
    with constants({"NEAR_TASKS": 17}):
        assert retrieval.NEAR_TASKS == 17
        assert "LIMIT 17)" in retrieval.candidates_sql(memory, True, scans=scans)
    assert retrieval.candidates_sql(memory, True, scans=scans) == before
    assert "LIMIT 17)" not in before


def test_the_report_shows_each_variant_at_each_lambda() -> None:
    outcomes = [
        Outcome("as is", 0.5, 1.0, 0.9667, 2.5, 4.0),
        Outcome("NEAR_TASKS 5", 0.5, 1.0, None, 2.25, 3.5),
    ]
    table = render("textworld", 100_000, outcomes).splitlines()
    assert table[0].startswith("textworld, 100,000 records")
    assert table[-2] == "| as is | 0.5 | 1.000 | 0.967 | 2.50 | 4.00 |"
    assert table[-1] == "| NEAR_TASKS 5 | 0.5 | 1.000 | — | 2.25 | 3.50 |"
