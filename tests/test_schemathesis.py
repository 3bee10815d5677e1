"""Property-based run of schemathesis against the service's own OpenAPI document, over HTTP
on the real server and database: valid and invalid requests for every operation; no answer
may be a 5xx, and every answer must match the documented status codes, content types and
schemas, with schema-violating requests refused with a 4xx.

Bounded (a few dozen examples per operation, no shrinking beyond the first failure) so that
the whole run stays around a minute on two cores.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rememberer.app import create_app
from rememberer.config import Settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.http import ServerThread

EXAMPLES_PER_OPERATION = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


# Refusals schemathesis expects of invalid data, plus 413: an invalid body can also be too
# large, and the size limit answers before validation does.
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]


@pytest.fixture(scope="module")
def service_schema(server: ServerThread) -> schemathesis.BaseSchema:
    checks = {"negative_data_rejection": {"expected-statuses": [*REFUSALS, "5xx"]}}
    config = SchemathesisConfig.from_dict({"checks": checks})
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)


@pytest.fixture(scope="module")
def known_memory(server: ServerThread) -> str:
    """A memory that exists (server-side embedder), so that generated requests also get past
    the 404 and into retrieval, updates and records."""
    name = f"schemathesis-{uuid.uuid4().hex[:8]}"
    created = httpx.post(f"{server.url}/v1/memories", json={"name": name, "n_step": 2})
    assert created.status_code == 201
    return name


def aimed_at(memory: str) -> Callable[[schemathesis.Case[Any], bool], schemathesis.Case[Any]]:
    def aim(case: schemathesis.Case[Any], hit: bool) -> schemathesis.Case[Any]:
        if hit and "memory" in case.path_parameters:
            case.path_parameters["memory"] = memory
        return case

    return aim


def documented_operations() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) for every operation, from the app's document (no server needed);
    negative mode only where there is input to break."""
    app = create_app(Settings(database_url=None), database_url="postgresql://collect-only/none")
    return [
        (method, path, mode)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        for mode in GenerationMode
        if mode.is_positive or "parameters" in operation or "requestBody" in operation
    ]


# One test per operation and mode (schemathesis' own pytest loader is not used: it does not
# work with pytest 9).
@pytest.mark.parametrize(("method", "path", "mode"), documented_operations())
def test_openapi_property_run(
    service_schema: schemathesis.BaseSchema,
    known_memory: str,
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    operation = service_schema[path][method]
    # Deleting the known memory would send every later operation back to 404.
    deletes_it = (method, path) == ("delete", "/v1/memories/{memory}")
    hits = st.just(False) if deletes_it else st.booleans()
    cases = st.tuples(operation.as_strategy(generation_mode=mode), hits)
    aim = aimed_at(known_memory)

    @given(case=cases.map(lambda drawn: aim(*drawn)))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def property_run(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(checks=CHECKS, timeout=60)

    property_run()
