"""`rememberer import` and `rememberer export`: memories to and from files, over HTTP.

Both talk to a running service through rememberer_client, so they work against any
deployment. Import sends records in batches to the bulk endpoint (each batch one
transaction; a batch replaces what it names, so an interrupted import is finished by
running it again); export pages through the records.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from rememberer_client import APIError, ConflictError, MemoryClient, NotFoundError, RecordItem
from tqdm import tqdm

from rememberer.interop import pools

Format = Literal["rememberer-yaml", "jsonl"]
FORMATS: tuple[Format, ...] = ("rememberer-yaml", "jsonl")
_SUFFIXES: dict[str, Format] = {
    ".yaml": "rememberer-yaml",
    ".yml": "rememberer-yaml",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
# Batches stay well under the service's request size limit (8 MiB by default).
BATCH_RECORDS = 200
BATCH_CHARS = 2_000_000
PAGE_SIZE = 500

logger = logging.getLogger("rememberer.interop.transfer")
COMMANDS = ("import", "export")


def add_commands(commands: Any) -> None:
    """`import` and `export` as subcommands of the `rememberer` command line."""
    load = commands.add_parser(
        "import",
        help="load a REMEMBERER pool (.yaml) or JSON Lines file into a memory",
        description="Load a REMEMBERER pool (.yaml) or JSON Lines file into a memory of a "
        "running service, creating the memory with default settings if it does not exist. "
        "Records already there are replaced, so running it again is harmless.",
    )
    load.add_argument("file", type=Path, help="the pool or JSON Lines file")
    load.add_argument("--memory", required=True, help="memory to load into (created if missing)")
    load.add_argument(
        "--format", choices=FORMATS, help="file format (default: from the file's suffix)"
    )
    save = commands.add_parser(
        "export",
        help="write a memory as a REMEMBERER pool or as JSON Lines",
        description="Write every record of a memory of a running service to a file, "
        "replacing the file only once it is complete.",
    )
    save.add_argument("-o", "--output", type=Path, required=True, help="file to write")
    save.add_argument("--memory", required=True, help="memory to export (must exist)")
    save.add_argument("--format", choices=FORMATS, required=True, help="file format")
    for command in (load, save):
        command.add_argument(
            "--url", help="service URL (default: $REMEMBERER_URL, else http://127.0.0.1:8000)"
        )
        command.add_argument(
            "--api-key",
            help="key for a service that requires one (default: $REMEMBERER_API_KEY); "
            "prefer the variable, as arguments are visible to other users of the machine",
        )
        command.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Runs `rememberer import` or `export`; problems are logged, and the exit code is 1."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # One line per HTTP request says nothing a person running the command wants to read.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    progress = False if args.quiet else None
    try:
        with MemoryClient(args.url, api_key=args.api_key) as client:
            if args.command == "import":
                report = import_file(
                    client, args.memory, args.file, format_of(args.file, args.format), progress
                )
                logger.info("%s: %s", args.file, report)
            else:
                written = export_file(client, args.memory, args.output, args.format, progress)
                logger.info("%s: %d records of memory %r", args.output, written, args.memory)
    except (OSError, ValueError, APIError) as exc:
        logger.error("rememberer %s failed: %s", args.command, exc)
        return 1
    return 0


@dataclass(frozen=True)
class ImportReport:
    records: int
    created: int
    replaced: int
    dropped: int
    actions_dropped: int


def format_of(path: Path, given: str | None) -> Format:
    if given is not None:
        if given not in FORMATS:
            raise ValueError(f"unknown format {given!r}; use one of {', '.join(FORMATS)}")
        return given
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ValueError(
            f"cannot tell the format of {path.name} from its suffix; pass --format"
        ) from None


def read_items(path: Path, file_format: Format) -> list[pools.Item]:
    """The records in a file, checked for shape; PoolFormatError says where it is wrong."""
    with path.open(encoding="utf-8") as stream:
        if file_format == "jsonl":
            items = pools.read_jsonl(stream, source=path.name)
        else:
            items = pools.pool_items(pools.load_pool(stream, source=path.name), source=path.name)
    for number, item in enumerate(items):
        try:
            RecordItem.model_validate(item)
        except ValueError as exc:
            raise pools.PoolFormatError(f"{path.name}, record {number}: {exc}") from None
    return items


def import_file(
    client: MemoryClient,
    memory: str,
    path: Path,
    file_format: Format,
    progress: bool | None = None,
) -> ImportReport:
    """Loads the file into `memory` (created with default settings if missing)."""
    items = read_items(path, file_format)
    _ensure_memory(client, memory)
    totals = {"created": 0, "replaced": 0, "dropped": 0, "actions_dropped": 0}
    with tqdm(total=len(items), unit="record", desc="import", disable=_hidden(progress)) as bar:
        for batch in _batches(items):
            result = client.upsert_records(memory, batch)
            totals["created"] += result.created
            totals["replaced"] += result.replaced
            totals["dropped"] += result.dropped
            totals["actions_dropped"] += sum(len(i.actions_dropped) for i in result.items)
            bar.update(len(batch))
    return ImportReport(records=len(items), **totals)


def export_file(
    client: MemoryClient,
    memory: str,
    path: Path,
    file_format: Format,
    progress: bool | None = None,
) -> int:
    """Writes every record of `memory` to `path` (replaced only once complete)."""
    total = client.get_memory(memory).records
    with tqdm(total=total, unit="record", desc="export", disable=_hidden(progress)) as bar:
        records = []
        for record in client.iter_records(memory, page_size=PAGE_SIZE):
            records.append(record.model_dump(mode="json"))
            bar.update(1)
    _write_atomically(path, lambda stream: _write(records, stream, file_format))
    return len(records)


def _write(records: list[dict[str, Any]], stream: TextIO, file_format: Format) -> None:
    if file_format == "jsonl":
        stream.writelines(pools.jsonl_lines(records))
    else:
        pools.dump_pool(records, stream)


def _write_atomically(path: Path, write: Callable[[TextIO], None]) -> None:
    folder = path.resolve().parent
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            write(stream)
        # mkstemp's file is 0600; an export holds records, not credentials, so it gets the
        # mode of any file the user writes (or keeps the mode of the file it replaces).
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The replaced file's mode, else what open() would give a new file under the umask."""
    with contextlib.suppress(FileNotFoundError):
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0o022)  # reading the umask means setting it: put it back at once
    os.umask(umask)
    return 0o666 & ~umask


def _ensure_memory(client: MemoryClient, memory: str) -> None:
    try:
        client.get_memory(memory)
    except NotFoundError:
        # Created meanwhile by someone else is just as good.
        with contextlib.suppress(ConflictError):
            client.create_memory(memory)


def _batches(items: list[pools.Item]) -> Iterator[list[pools.Item]]:
    batch: list[pools.Item] = []
    chars = 0
    for item in items:
        size = len(json.dumps(item))
        if batch and (len(batch) >= BATCH_RECORDS or chars + size > BATCH_CHARS):
            yield batch
            batch, chars = [], 0
        batch.append(item)
        chars += size
    if batch:
        yield batch


def _hidden(progress: bool | None) -> bool | None:
    """tqdm's `disable`: None shows the bar only on a terminal."""
    return None if progress is None else not progress
