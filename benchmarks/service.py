"""The system under test: an embedded PostgreSQL and the service as its own process
(`rememberer serve`, through the launcher the tests use), so that its latency, throughput
and resident memory are its own."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
from rememberer.storage.embedded import EmbeddedPostgres

from tests.support.database import migrated_database
from tests.support.service import ServiceProcess


@contextmanager
def database(data_dir: Path) -> Iterator[str]:
    """A fresh, migrated database on an embedded PostgreSQL kept in `data_dir`."""
    postgres = EmbeddedPostgres(data_dir)
    try:
        yield migrated_database(postgres, "bench")[1]
    finally:
        postgres.stop()


class Service(ServiceProcess):
    """`rememberer serve` as the benchmarks run it: `settings` are REMEMBERER_* overrides
    (Settings field names), logs at warning level into `log`."""

    def __init__(self, database_url: str, settings: Mapping[str, str], log: Path) -> None:
        quiet = {"log_level": "warning", **settings}
        super().__init__(database_url, log.parent, settings=quiet, log_path=log)


@contextmanager
def scratch_service(prefix: str) -> Iterator[tuple[str, httpx.Client]]:
    """A fresh database on an embedded PostgreSQL in a temporary folder (`prefix`…), the
    service on it, and a client of the service: (database URL, client). All gone after."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        folder = Path(scratch)
        with (
            database(folder) as url,
            Service(url, {}, folder / "service.log") as service,
            httpx.Client(base_url=service.url, timeout=600) as api,
        ):
            yield url, api
