"""What each operation does, for the OpenAPI document (/docs): one table, so that the route
modules stay about routing. A route's own docstring, where it has one, comes first."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

OPERATIONS: dict[tuple[str, str], str] = {
    ("POST", "/v1/memories"): "Creates a memory with its learning settings, fixed for its "
    "life (docs/API.md, *Choosing the settings*). 409 `memory_exists` if the name is taken.",
    ("GET", "/v1/memories"): "Lists the memories this key may see, by name, cursor-paginated.",
    ("GET", "/v1/memories/{memory}"): "A memory's settings with its counts of records, "
    "action values and open episodes.",
    ("DELETE", "/v1/memories/{memory}"): "Deletes a memory with all its records, episodes "
    "and reflections.",
    ("PUT", "/v1/memories/{memory}/embeddings"): "Stores the vectors of texts for a memory "
    'with `embedder: "client"` (required before those texts are retrieved or updated).',
    ("POST", "/v1/memories/{memory}/retrieve"): "The k records most similar to (task, "
    "observation), scored λ·sim(task) + (1−λ)·sim(observation), each with its actions sorted "
    "by q: the exemplars to show the agent's LLM.",
    ("POST", "/v1/memories/{memory}/update"): "Applies transitions of an episode, in step "
    "order, by n-step Q-learning (Monte-Carlo with `n_step: null`); a step already applied "
    "answers as the first time, so retries are safe. Answers the action values it changed.",
    ("GET", "/v1/memories/{memory}/records"): "The memory's records with their action values, "
    "oldest first, cursor-paginated; `task` filters to one task.",
    ("POST", "/v1/memories/{memory}/records"): "Creates or replaces records with their action "
    "values, in one transaction (bulk import, as `rememberer import` sends).",
    ("GET", "/v1/memories/{memory}/records/{record_id}"): "One record with its action values.",
    ("DELETE", "/v1/memories/{memory}/records/{record_id}"): "Deletes one record and its "
    "action values.",
    ("POST", "/v1/memories/{memory}/reflections"): "Stores a Retroformer reflection on a "
    "finished episode; posting the same one again answers the stored reflection.",
    ("GET", "/v1/memories/{memory}/reflections"): "The newest reflections, optionally of one "
    "task, with their mean ratings.",
    ("GET", "/v1/memories/{memory}/reflections/export"): "Training data as JSON Lines: one "
    "row per rated use (`jsonl`) or preferred/rejected pairs per prompt (`pairs`).",
    ("GET", "/v1/memories/{memory}/reflections/{reflection_id}"): "One reflection with each "
    "of its uses and their ratings.",
    ("POST", "/v1/keys"): "Admin only: mints a key scoped to some memories. Its secret is in "
    "this answer only (stored as its sha256).",
    ("GET", "/v1/keys"): "Admin only: the keys, without their secrets.",
    ("DELETE", "/v1/keys/{key_id}"): "Admin only: revokes a key at once.",
    ("GET", "/v1/stats"): "This process's embedder work, embedding cache hit rate and "
    "resident memory.",
    ("GET", "/healthz"): "Liveness: 200 while the process answers.",
    ("GET", "/readyz"): "Readiness: 200 once the database is reachable, its migrations are "
    "current and the embedder is loaded; 503 with the reason before. For load balancers.",
}


def describe_operations(app: FastAPI) -> None:
    """Fills in the description of every operation of the OpenAPI document that has none.
    Wraps whatever builds the document now (FastAPI's, or api.auth's amendment of it), which
    caches it: filling in again finds nothing left to do."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                text = OPERATIONS.get((method.upper(), path))
                if text and not operation.get("description"):
                    operation["description"] = text
        return document

    app.openapi = openapi  # type: ignore[method-assign]
