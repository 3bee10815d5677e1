"""The REMEMBERER options beyond the core contract, over HTTP against the real service:
item and action capacity, double Q-learning, and the LCS observation similarity."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest
from rememberer.search import retrieval
from rememberer.search.lcs import element_sequence, lcs_length

from tests.support.database import plain_url
from tests.support.http import ServerThread
from tests.support.memories import answered, client_memory, records, step, update


def test_new_settings_have_defaults_and_are_checked(api: httpx.Client, memory_name: str) -> None:
    created = api.post("/v1/memories", json={"name": memory_name}).json()
    assert created["double_q"] is False and created["observation_similarity"] == "embedding"
    for bad in ({"observation_similarity": "jaccard"}, {"double_q": "maybe"}):
        assert api.post("/v1/memories", json={"name": "x", **bad}).status_code == 422


# --- item capacity -------------------------------------------------------------------------

# Observations in the plane of the last two coordinates, at these angles (degrees): a and b
# are close (the redundant pair), c, d and e are spread out.
ANGLES = {"a": 0, "b": 10, "c": 90, "d": 180, "e": 95, "f": 45}


def plane_vectors() -> dict[str, list[float]]:
    vectors = {"task": [1.0, 0.0, 0.0]}
    for name, degrees in ANGLES.items():
        radians = np.radians(degrees)
        vectors[name] = [0.0, float(np.cos(radians)), float(np.sin(radians))]
    return vectors


def done_at(observation: str, action: str = "act") -> dict[str, Any]:
    return step(0, observation, action, 1.0, "end", done=True)


def test_item_capacity_evicts_the_most_redundant_and_drops_redundant_newcomers(
    api: httpx.Client, memory_name: str
) -> None:
    vectors = plane_vectors() | {"end": [0.0, 0.0, 1.0]}
    client_memory(api, memory_name, vectors, item_capacity=3, **{"lambda": 0.0})
    for episode, observation in enumerate("abc"):
        answered(update(api, memory_name, f"e{episode}", done_at(observation)))
    answered(update(api, memory_name, "again", done_at("b")))  # b has more visits than a
    assert set(records(api, memory_name)) == {"a", "b", "c"}
    # d is far from everything: less redundant than a and b (cos 10°), so a, the one of the
    # pair with fewer visits, makes room.
    admitted = answered(update(api, memory_name, "d", done_at("d")))["updated"][0]
    assert admitted["dropped"] is False and admitted["record_id"] is not None
    assert set(records(api, memory_name)) == {"b", "c", "d"}
    # e is 5° from c: more redundant than anything kept, so its update is dropped.
    refused = answered(update(api, memory_name, "e", done_at("e")))["updated"][0]
    assert refused["dropped"] is True and refused["record_id"] is None
    assert set(records(api, memory_name)) == {"b", "c", "d"}
    # A state that is kept may always be revisited.
    again = answered(update(api, memory_name, "c2", done_at("c")))["updated"][0]
    assert again["dropped"] is False and again["visits"] == 2


def test_redundancy_is_the_similarity_to_the_nearest_record(
    api: httpx.Client, memory_name: str, database_url: str
) -> None:
    """After admissions and evictions, every record's kept redundancy is what a full scan
    would compute."""
    rng = random.Random(5)
    angles = {f"s{i}": rng.uniform(0, 360) for i in range(14)}
    vectors = {"task": [1.0, 0.0, 0.0], "end": [0.0, 0.0, 1.0]}
    for name, degrees in angles.items():
        vectors[name] = [
            0.0,
            float(np.cos(np.radians(degrees))),
            float(np.sin(np.radians(degrees))),
        ]
    client_memory(api, memory_name, vectors, item_capacity=6, **{"lambda": 0.0})
    dropped = 0
    for name in angles:
        dropped += answered(update(api, memory_name, name, done_at(name)))["updated"][0]["dropped"]
    kept = records(api, memory_name)
    assert len(kept) == 6 and dropped > 0
    with psycopg.connect(plain_url(database_url)) as connection:
        rows = connection.execute(
            "SELECT r.observation, r.redundancy, n.observation FROM records r "
            "JOIN memories m ON m.id = r.memory_id LEFT JOIN records n ON n.id = r.nearest_id "
            "WHERE m.name = %s",
            (memory_name,),
        ).fetchall()
    for observation, redundancy, nearest in rows:
        others = {
            o: float(np.dot(vectors[observation], vectors[o])) for o in kept if o != observation
        }
        best = max(others, key=lambda o: others[o])
        assert nearest == best, observation
        assert redundancy == pytest.approx(others[best], abs=1e-5)


# --- action capacity --------------------------------------------------------------------------


def test_action_capacity_drops_the_lowest_q(api: httpx.Client, memory_name: str) -> None:
    client_memory(api, memory_name, plane_vectors() | {"end": [0.0, 0.0, 1.0]}, action_capacity=2)
    for action, reward in (("good", 1.0), ("bad", -1.0), ("fair", 0.5)):
        answer = answered(
            update(api, memory_name, action, step(0, "a", action, reward, "end", True))
        )
    assert [a["action"] for a in records(api, memory_name)["a"]["actions"]] == ["good", "fair"]
    assert answer["updated"][0]["dropped"] is False
    # A newcomer with the lowest q does not stay, and says so.
    worst = answered(update(api, memory_name, "worst", step(0, "a", "worst", -2.0, "end", True)))
    assert worst["updated"][0]["dropped"] is True
    assert [a["action"] for a in records(api, memory_name)["a"]["actions"]] == ["good", "fair"]


# --- double Q-learning ---------------------------------------------------------------------------


def test_double_q_alternates_estimates_and_bootstraps_with_the_other(
    api: httpx.Client, memory_name: str
) -> None:
    """a -go-> b -stop-> end (reward 1), three times, γ = 1, n = 1, mean updates.

    Episode 1: (b, stop) sets q_a = 1, q_b stays 0: q = 0.5 (single Q would say 1).
    Episode 2: (a, go) is at its second update, so it moves q_b, bootstrapping with
    max q_a(b) = 1: q_b = 1, q = 0.5 (with its own q_b(b) = 0 it would be 0).
    Episode 3: (a, go) moves q_a by half towards max q_b(b) = 1: q = (0.5 + 1) / 2.
    """
    vectors = {"task": [1.0, 0.0, 0.0, 0.0], "a": [0.0, 1.0, 0.0, 0.0]}
    vectors |= {"b": [0.0, 0.0, 1.0, 0.0], "end": [0.0, 0.0, 0.0, 1.0]}
    client_memory(api, memory_name, vectors, double_q=True)
    episode = (step(0, "a", "go", 0.0, "b"), step(1, "b", "stop", 1.0, "end", True))
    answers = [answered(update(api, memory_name, f"e{n}", *episode))["updated"] for n in range(3)]
    assert [(u["observation"], u["q"]) for u in answers[0]] == [("a", 0.0), ("b", 0.5)]
    assert [u["q"] for u in answers[1]] == [0.5, 1.0]
    assert [u["q"] for u in answers[2]] == [0.75, 1.0]
    kept = records(api, memory_name)
    assert kept["a"]["actions"][0]["q"] == 0.75 and kept["a"]["actions"][0]["visits"] == 3
    exemplar = api.post(
        f"/v1/memories/{memory_name}/retrieve", json={"task": "task", "observation": "a", "k": 1}
    ).json()["exemplars"][0]
    assert exemplar["actions"][0]["q"] == 0.75


# --- LCS observation similarity ----------------------------------------------------------------

SEARCH_PAGE = "<div class='header'>wikiHow</div>\n<input type='text'>\n<button>Search</button>"
ARTICLE = "<div class='header'>wikiHow</div>\n<p>How to</p>\n<p>Step 1</p>\n<img alt='x'>"
QUERY = "<div class='header'>Home</div>\n<input type='search'>\n<button>Go</button>\n<p>tip</p>"


def test_lcs_reranks_by_layout(api: httpx.Client, memory_name: str) -> None:
    # By embedding, the query screen looks like the article; by layout, like the search page.
    vectors = {"task": [1.0, 0.0, 0.0], "end": [0.0, 0.0, 1.0]}
    vectors |= {ARTICLE: [0.0, 1.0, 0.0], SEARCH_PAGE: [0.0, 0.6, 0.8], QUERY: [0.0, 0.99, 0.14]}
    client_memory(api, memory_name, vectors, observation_similarity="lcs")
    for n, page in enumerate((ARTICLE, SEARCH_PAGE)):
        answered(update(api, memory_name, f"e{n}", done_at(page)))
    body = {"task": "task", "observation": QUERY, "k": 2}
    exemplars = api.post(f"/v1/memories/{memory_name}/retrieve", json=body).json()["exemplars"]
    assert [e["observation"] for e in exemplars] == [SEARCH_PAGE, ARTICLE]
    # div input button vs div input button p: LCS 3 of 4; div p p img: LCS 2 (div, p) of 4.
    assert [e["observation_score"] for e in exemplars] == [0.75, 0.5]
    assert exemplars[0]["score"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.75, abs=1e-6)


def lcs_by_table(first: list[str], second: list[str]) -> int:
    table = [[0] * (len(second) + 1) for _ in range(len(first) + 1)]
    for i, x in enumerate(first, start=1):
        for j, y in enumerate(second, start=1):
            table[i][j] = (
                table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
            )
    return table[-1][-1]


def test_bit_parallel_lcs_agrees_with_the_table() -> None:
    rng = random.Random(11)
    for _ in range(300):
        first = [rng.choice("abcd") for _ in range(rng.randint(0, 80))]
        second = [rng.choice("abcd") for _ in range(rng.randint(0, 80))]
        assert lcs_length(first, second) == lcs_by_table(first, second)


def test_element_sequence_takes_tag_names_or_first_tokens() -> None:
    screen = '<div id="1">x</div>\n\n  <p>hi\n</p>\nResults for shoes\n<br/>'
    assert element_sequence(screen) == ["div", "p", "/p", "Results", "br"]


def test_item_capacity_holds_under_concurrent_agents(api: httpx.Client, memory_name: str) -> None:
    rng = np.random.default_rng(9)
    names = [f"o{i}" for i in range(24)]
    vectors = {"task": rng.normal(size=6).tolist(), "end": rng.normal(size=6).tolist()}
    vectors |= {name: rng.normal(size=6).tolist() for name in names}
    client_memory(api, memory_name, vectors, item_capacity=5)

    def agent(batch: list[str]) -> list[bool]:
        with httpx.Client(base_url=str(api.base_url), timeout=60) as own:
            return [
                answered(update(own, memory_name, n, done_at(n)))["updated"][0]["dropped"]
                for n in batch
            ]

    with ThreadPoolExecutor(max_workers=6) as pool:
        dropped = [d for batch in pool.map(agent, [names[i::6] for i in range(6)]) for d in batch]
    # Admissions are serialised: never more records than the capacity, whatever the timing.
    assert len(records(api, memory_name)) == 5
    assert dropped.count(False) >= 5


def test_lcs_rescoring_runs_off_the_event_loop(
    api: httpx.Client, server: ServerThread, memory_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long screens make the LCS take seconds; meanwhile the service must go on serving, so
    the re-rank may not run on the server's event-loop thread."""
    threads: list[int] = []

    def rescored_here(*args: Any) -> list[retrieval.Ranked]:
        threads.append(threading.get_ident())
        return rescore(*args)

    rescore = retrieval.rescored_by_elements
    monkeypatch.setattr(retrieval, "rescored_by_elements", rescored_here)
    vectors = {"task": [1.0, 0.0, 0.0], "end": [0.0, 0.0, 1.0], ARTICLE: [0.0, 1.0, 0.0]}
    client_memory(api, memory_name, vectors, observation_similarity="lcs")
    answered(update(api, memory_name, "e", done_at(ARTICLE)))
    body = {"task": "task", "observation": ARTICLE, "k": 1}
    exemplars = api.post(f"/v1/memories/{memory_name}/retrieve", json=body).json()["exemplars"]
    assert [e["observation_score"] for e in exemplars] == [1.0]
    assert threads and server.thread.ident not in threads
