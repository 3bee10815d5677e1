"""`rememberer serve`, `rememberer migrate`, `rememberer prepare-embedder`, and
`import`/`export` (in rememberer.interop.transfer)."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import ValidationError

from rememberer.config import Settings
from rememberer.observability import configure_logging

logger = logging.getLogger("rememberer")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rememberer",
        description="Rememberer: experience memory as a service for LLM agents.",
        epilog="Settings come from REMEMBERER_* environment variables (or a .env file); "
        "`rememberer COMMAND --help` lists each command's options. "
        "Example: rememberer serve, then open http://127.0.0.1:8000/docs",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("serve", "run the HTTP service (embedded PostgreSQL unless a database URL is given)"),
        ("migrate", "apply the database migrations and exit"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--database-url", help="PostgreSQL URL (env REMEMBERER_DATABASE_URL)")
        command.add_argument("--data-dir", type=Path, help="embedded database folder")
    serve = commands.choices["serve"]
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback --host without REMEMBERER_ADMIN_KEY (anyone can do anything)",
    )
    commands.add_parser(
        "prepare-embedder",
        help="convert the embedding model for the OpenVINO backend into the cache now "
        "(the service does it on first use otherwise); for images and read-only caches",
    )
    mcp = commands.add_parser("mcp", help="serve the MCP tools over stdio, backed by a service")
    mcp.add_argument("--url", required=True, help="the running service, e.g. http://host:8000")
    mcp.add_argument("--api-key", help="its key (env REMEMBERER_API_KEY)")
    from rememberer.interop import transfer

    transfer.add_commands(commands)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        "database_url": getattr(args, "database_url", None),
        "data_dir": getattr(args, "data_dir", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
    }
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        # One line a person can act on, instead of pydantic's traceback (in a container,
        # restarted over and over).
        raise SystemExit(f"rememberer: invalid setting: {settings_problems(exc)}") from None


def settings_problems(exc: ValidationError) -> str:
    """`REMEMBERER_ADMIN_KEY: String should have at least 16 characters; ...`, never a value."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "settings"
        message = error["msg"]
        if error["type"] in ("too_short", "string_too_short"):  # SecretStr says "items"
            message = f"must be at least {error.get('ctx', {}).get('min_length')} characters"
        problems.append(f"{prefix}{field.upper()}: {message}")
    return "; ".join(problems)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("import", "export"):
        from rememberer.interop import transfer

        return transfer.run(args)
    if args.command == "mcp":
        import anyio

        from rememberer.mcp_server.stdio import serve_stdio

        anyio.run(serve_stdio, args.url, args.api_key)
        return 0
    if args.command == "prepare-embedder":
        return _prepare_embedder(_settings(args))
    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "serve" and not exposure_allowed(settings, insecure=args.insecure):
        logger.error(
            "refusing to listen on %s without an admin key: anyone reaching it could read and "
            "change every memory. Set REMEMBERER_ADMIN_KEY, or pass --insecure if that is "
            "really what you want.",
            settings.host,
        )
        return 2
    from rememberer.storage.embedded import EmbeddedPostgres
    from rememberer.storage.migrate import upgrade

    embedded = None if settings.database_url else EmbeddedPostgres(settings.data_dir)
    try:
        url = settings.database_url or embedded.start()  # type: ignore[union-attr]
        if embedded is not None:
            logger.info("data in %s (embedded PostgreSQL)", settings.data_dir)
        upgrade(url)
        if args.command == "serve":
            _serve(settings, url)
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _prepare_embedder(settings: Settings) -> int:
    configure_logging(settings.log_level, settings.log_format)
    from rememberer.embedding.embedder import bundled_model_path
    from rememberer.embedding.openvino_model import converted_folder

    model = settings.embedding_model_path or bundled_model_path()
    logger.info("embedder ready in %s", converted_folder(model, settings.cache_dir))
    return 0


def _serve(settings: Settings, url: str) -> None:
    import uvicorn

    from rememberer.app import create_app

    # uvicorn handles SIGTERM/SIGINT itself, then re-raises the signal to the handler that
    # was there before it; this one turns it into a normal exit so the embedded database
    # is stopped on the way out.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_normally)
    base = f"http://{settings.host}:{settings.port}"
    logger.info("serving on %s", base)
    logger.info("API docs at %s/docs", base)
    options: dict[str, Any] = dict(
        host=settings.host,
        port=settings.port,
        # Left to configure_logging (uvicorn's start-up steps are quiet unless debugging).
        log_level=None,
        # Our own JSON logs and access lines (with request ids) replace uvicorn's.
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    if settings.workers == 1:
        uvicorn.run(create_app(settings, database_url=url), **options)
        return
    # Worker processes build their own app from the environment, this database included.
    os.environ["REMEMBERER_DATABASE_URL"] = url
    uvicorn.run(
        "rememberer.app:create_worker_app", factory=True, workers=settings.workers, **options
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def exposure_allowed(settings: Settings, *, insecure: bool) -> bool:
    """An open service (no admin key) only on loopback, unless the operator insists."""
    return settings.admin_key is not None or insecure or is_loopback(settings.host)


def _exit_normally(signum: int, _frame: FrameType | None) -> None:
    logger.info("stopping on signal %d", signum)
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
