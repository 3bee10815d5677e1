"""Generate the synchronous SDK modules from their asyncio sources.

The asyncio client and episode helper are the hand-written sources; their synchronous
twins differ only by mechanical substitutions (``async def`` → ``def``, ``await x`` →
``x``, ``AsyncIterator`` → ``Iterator`` …), so they are generated rather than kept in
step by hand. The output goes through ``ruff`` (import order, formatting) so that it
reads like hand-written code and passes ``make lint`` as it is.

    python client/scripts/unasync.py           # rewrite the generated modules
    python client/scripts/unasync.py --check   # exit 1 if one of them is stale
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rememberer_client"
REPOSITORY = PACKAGE.parents[1]


@dataclass(frozen=True)
class Substitution:
    """Replace every match of ``pattern`` (a regular expression) by ``replacement``."""

    pattern: str
    replacement: str

    def apply(self, text: str) -> str:
        return re.sub(self.pattern, self.replacement, text, flags=re.MULTILINE)


# Order matters only where one pattern's output could match a later one; none does.
COMMON_SUBSTITUTIONS: tuple[Substitution, ...] = (
    # ASYNC109 wants asyncio.timeout() rather than a `timeout=` parameter; the sync
    # twin has no such rule, so the comment block that silences it goes.
    Substitution(r"^(?:#(?! ruff)[^\n]*\n)*# ruff: noqa: ASYNC109\n\n?", ""),
    # Lines about the source itself ("edit here, then run …").
    Substitution(r"^[^\n]*# unasync: source only\n", ""),
    Substitution(r"\basync (def|with|for)\b", r"\1"),
    Substitution(r"\bawait ", ""),
    Substitution(r"\b__a(enter|exit|iter|next)__\b", r"__\1__"),
    Substitution(r"\ba(close|read|iter_lines|iter_bytes)\b", r"\1"),
    # AsyncIterator, AsyncMemoryClient, httpx.AsyncClient, AsyncEpisode, …
    Substitution(r"\bAsync([A-Z]\w*)", r"\1"),
    # Module names: ._async_client → ._client.
    Substitution(r"\b_async_(\w+)", r"_\1"),
    # An async generator cannot `yield from`; the sync twin should (ruff's UP028).
    Substitution(r"^( *)for (\w+) in ([^\n]+):\n *yield \2\n", r"\1yield from \3\n"),
)


@dataclass(frozen=True)
class Twin:
    """One generated module: its asyncio source and the substitutions of its own."""

    source: str
    target: str
    substitutions: tuple[Substitution, ...] = ()

    def header(self) -> str:
        return (
            f"# Generated from {self.source} by client/scripts/unasync.py: do not edit.\n"
            "# Change the asyncio source, then run `python client/scripts/unasync.py`.\n"
        )


TWINS: tuple[Twin, ...] = (
    Twin(
        "_async_client.py",
        "_client.py",
        (
            Substitution(r"\basyncio\.sleep\b", "time.sleep"),
            Substitution(r"^import asyncio$", "import time"),
        ),
    ),
    Twin(
        "_async_episode.py",
        "_episode.py",
        (
            Substitution(r"\basyncio\.Lock\b", "threading.Lock"),
            Substitution(r"^import asyncio$", "import threading"),
        ),
    ),
)


# Prose last, after the code substitutions above have taken the module name.
PROSE_SUBSTITUTIONS: tuple[Substitution, ...] = (
    Substitution(r"\basyncio\b", "synchronous"),
    Substitution(r"\bAsyncio\b", "Synchronous"),
)


# What no sync module may contain: left over, it means the table misses a construct.
LEFTOVER = re.compile(r"\b(?:async|await|asyncio|aiter|anext)\b")


class UnasyncError(Exception):
    """The substitutions left an asyncio construct behind."""


def unasync(text: str, substitutions: Sequence[Substitution]) -> str:
    for substitution in substitutions:
        text = substitution.apply(text)
    for number, line in enumerate(text.splitlines(), start=1):
        if LEFTOVER.search(line):
            raise UnasyncError(f"line {number} is still asynchronous: {line.strip()}")
    return text


def ruff(arguments: Sequence[str], text: str, filename: Path) -> str:
    """``text`` as ruff rewrites it, configured as if it were ``filename``."""
    command = [sys.executable, "-m", "ruff", *arguments, "--stdin-filename", str(filename), "-"]
    done = subprocess.run(
        command, input=text, capture_output=True, text=True, check=True, cwd=REPOSITORY
    )
    return done.stdout


def generate(twin: Twin) -> str:
    source = (PACKAGE / twin.source).read_text(encoding="utf-8")
    text = twin.header() + unasync(
        source, (*COMMON_SUBSTITUTIONS, *twin.substitutions, *PROSE_SUBSTITUTIONS)
    )
    target = PACKAGE / twin.target
    text = ruff(["check", "--fix", "--select", "I", "--exit-zero", "--quiet"], text, target)
    return ruff(["format", "--quiet"], text, target)


def stale_report(twin: Twin, expected: str) -> str:
    target = PACKAGE / twin.target
    current = target.read_text(encoding="utf-8") if target.exists() else ""
    if current == expected:
        return ""
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        f"{twin.target} (checked in)",
        f"{twin.target} (generated from {twin.source})",
    )
    return "".join(diff)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a generated file is stale"
    )
    arguments = parser.parse_args(argv)
    stale = False
    for twin in TWINS:
        expected = generate(twin)
        if not arguments.check:
            (PACKAGE / twin.target).write_text(expected, encoding="utf-8")
            continue
        report = stale_report(twin, expected)
        if report:
            stale = True
            sys.stderr.write(report)
            sys.stderr.write(f"\n{twin.target} is stale: run `python client/scripts/unasync.py`\n")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
