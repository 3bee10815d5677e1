"""Static checks of the deployment wiring: docker-compose.yml, Dockerfile, .dockerignore.

Docker is not needed (nor is the database or the embedding model): the files are parsed and
cross-checked against each other, against pyproject.toml and against the Settings class.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from rememberer.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = ROOT / "pyproject.toml"

DB_SERVICE = "db"
APP_SERVICE = "rememberer"
TORCH_VERSION = "2.13.0"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Variables the server reads that are not (yet) fields of Settings.
EXTRA_ENV_VARS = {"REMEMBERER_ADMIN_KEY"}
# Values for required substitutions (${VAR:?msg}) while interpolating in these tests.
REQUIRED_VARS = {"REMEMBERER_ADMIN_KEY": "test-admin-key"}


# --- compose-style variable interpolation -------------------------------------------------

_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariableError(LookupError):
    pass


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Resolve $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR:+alt}, $$."""

    def replace(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        name = m["braced"] or m["named"]
        op, arg = m["op"], m["arg"] or ""
        current = env.get(name)
        unset_or_empty = not current if op and op.startswith(":") else current is None
        if op in (":-", "-"):
            return arg if unset_or_empty else str(current)
        if op in (":?", "?"):
            if unset_or_empty:
                raise MissingVariableError(f"{name}: {arg}")
            return str(current)
        if op in (":+", "+"):
            return "" if unset_or_empty else arg
        return current or ""

    return _VAR.sub(replace, value)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    return node


def raw_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The compose file with variables resolved as `docker compose` would, from `env`."""
    resolved = interpolate_tree(raw_compose(), {**REQUIRED_VARS, **(env or {})})
    assert isinstance(resolved, dict)
    return resolved


def service(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    services = doc.get("services") or {}
    assert name in services, f"compose has no service {name!r} (has {sorted(services)})"
    svc = services[name]
    assert isinstance(svc, dict)
    return svc


def environment(svc: Mapping[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...]
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {key: value for key, value in pairs}
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def healthcheck_argv(svc: Mapping[str, Any]) -> list[str]:
    test = (svc.get("healthcheck") or {}).get("test")
    assert test, "service has no healthcheck test"
    if isinstance(test, str):
        return shlex.split(test)
    kind, *rest = test
    assert kind in ("CMD", "CMD-SHELL"), f"unexpected healthcheck form {kind!r}"
    return shlex.split(rest[0]) if kind == "CMD-SHELL" else list(rest)


def option(argv: list[str], *names: str) -> str | None:
    """Value of the first of `names` in argv (`-U x`, `--user=x`, `-Ux` forms)."""
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.split("=", 1)[1]
            if not name.startswith("--") and arg.startswith(name) and len(arg) > len(name):
                return arg[len(name) :]
    return None


def container_ports(svc: Mapping[str, Any]) -> dict[int, int | None]:
    """Published ports as {container port: host port (None if random)}."""
    result: dict[int, int | None] = {}
    for entry in svc.get("ports") or []:
        if isinstance(entry, dict):
            published = entry.get("published")
            result[int(entry["target"])] = int(published) if published is not None else None
            continue
        spec = str(entry).split("/", 1)[0]
        # [IP:][HOST:]CONTAINER; IPv6 hosts are bracketed.
        parts = re.sub(r"^\[[^\]]*\]:", "", spec).rsplit(":", 2)
        container = parts[-1]
        host = parts[-2] if len(parts) >= 2 and parts[-2] else None
        assert "-" not in container, f"port ranges are not expected here: {entry!r}"
        result[int(container)] = int(host) if host else None
    return result


# --- Dockerfile parsing ---------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def dockerfile() -> list[Instruction]:
    """Instructions of the Dockerfile, continuation lines joined, comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continuation are skipped by Docker
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            keyword, _, args = full.partition(" ")
            instructions.append(Instruction(keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


def exec_or_shell(args: str) -> list[str]:
    """JSON (exec) form as a list; shell form as ["/bin/sh", "-c", args]."""
    if args.startswith("["):
        argv = json.loads(args)
        assert isinstance(argv, list)
        return [str(a) for a in argv]
    return ["/bin/sh", "-c", args]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in dockerfile():
        if ins.keyword != "ENV":
            continue
        tokens = shlex.split(ins.args)
        if tokens and "=" not in tokens[0]:  # legacy `ENV KEY value with spaces`
            env[tokens[0]] = " ".join(tokens[1:])
            continue
        for token in tokens:
            key, _, value = token.partition("=")
            env[key] = value
    return env


def dockerfile_args() -> dict[str, str]:
    """ARG defaults (`ARG NAME=value`)."""
    found: dict[str, str] = {}
    for ins in dockerfile():
        if ins.keyword == "ARG" and "=" in ins.args:
            name, _, value = ins.args.partition("=")
            found[name.strip()] = value.strip()
    return found


def last(keyword: str) -> Instruction:
    matches = [ins for ins in dockerfile() if ins.keyword == keyword]
    assert matches, f"Dockerfile has no {keyword}"
    return matches[-1]  # only the last CMD / HEALTHCHECK / USER takes effect


def cmd_commands() -> list[list[str]]:
    """The simple commands the image CMD runs, in order (through `sh -c` if used)."""
    argv = exec_or_shell(last("CMD").args)
    if len(argv) >= 3 and Path(argv[0]).name in ("sh", "bash") and argv[1] == "-c":
        script = argv[2]
        assert "`" not in script and "$(" not in script, "CMD script is too clever to check"
        commands: list[list[str]] = []
        for chunk in re.split(r"&&|\|\||;|\n", script):
            words = shlex.split(chunk)
            if words and words[0] == "exec":
                words = words[1:]
            if words:
                commands.append(words)
        return commands
    return [argv]


def pip_installs(run_args: str) -> Iterator[list[str]]:
    """Argument lists of each `pip install` in a RUN line."""
    for chunk in re.split(r"&&|\|\||;", run_args):
        words = shlex.split(chunk)
        for i in range(len(words) - 1):
            tool = Path(words[i]).name
            if tool.startswith("pip") and words[i + 1] == "install":
                yield words[i + 2 :]
            elif tool.startswith("python") and words[i + 1 : i + 4] == ["-m", "pip", "install"]:
                yield words[i + 4 :]


def serve_command() -> list[str]:
    serves = [c for c in cmd_commands() if c[:2] == ["rememberer", "serve"]]
    assert len(serves) == 1, f"CMD should run `rememberer serve` once: {cmd_commands()}"
    return serves[0]


def serve_port() -> int:
    port = option(serve_command(), "--port")
    if port is None:  # falls back to settings: REMEMBERER_PORT or the field default
        env = dockerfile_env()
        default = Settings.model_fields["port"].default
        port = env.get("REMEMBERER_PORT", str(default))
    return int(port)


# --- compose: database ----------------------------------------------------------------------


def test_db_image_is_pgvector_pg18() -> None:
    assert service(compose(), DB_SERVICE).get("image") == "pgvector/pgvector:pg18"


def test_db_volume_is_named_and_mounted_at_pg18_location() -> None:
    doc = compose()
    db = service(doc, DB_SERVICE)
    mounts: dict[str, str] = {}
    for volume in db.get("volumes") or []:
        if isinstance(volume, dict):
            mounts[str(volume["target"])] = str(volume.get("source", ""))
        else:
            source, _, rest = str(volume).partition(":")
            mounts[rest.split(":", 1)[0]] = source
    # pg18 images keep PGDATA in /var/lib/postgresql/18/docker and refuse an old .../data mount.
    assert "/var/lib/postgresql" in mounts, f"db volumes: {mounts}"
    assert "/var/lib/postgresql/data" not in mounts
    source = mounts["/var/lib/postgresql"]
    assert source in (doc.get("volumes") or {}), f"{source!r} is not a declared named volume"


def test_db_healthcheck_uses_pg_isready_for_the_right_user_and_database() -> None:
    db = service(compose(), DB_SERVICE)
    argv = healthcheck_argv(db)
    assert argv[0] == "pg_isready", argv
    env = environment(db)
    assert option(argv, "-U", "--username") == env["POSTGRES_USER"]
    assert option(argv, "-d", "--dbname") == env["POSTGRES_DB"]
    for key in ("interval", "timeout", "retries"):
        assert key in db["healthcheck"], f"db healthcheck has no {key}"


# --- compose: application -------------------------------------------------------------------


def test_app_waits_for_healthy_db() -> None:
    depends_on = service(compose(), APP_SERVICE).get("depends_on")
    assert isinstance(depends_on, dict), "use the long depends_on form, with a condition"
    assert depends_on.get(DB_SERVICE, {}).get("condition") == "service_healthy"


def test_app_is_built_from_repo_root_and_restarts_and_has_healthcheck() -> None:
    app = service(compose(), APP_SERVICE)
    build = app.get("build")
    context = build.get("context") if isinstance(build, dict) else build
    assert (COMPOSE_FILE.parent / str(context)).resolve() == DOCKERFILE.parent
    if isinstance(build, dict) and "dockerfile" in build:
        assert (COMPOSE_FILE.parent / str(context) / build["dockerfile"]).resolve() == DOCKERFILE
    assert app.get("restart") == "unless-stopped"
    argv = healthcheck_argv(app)
    assert any("/readyz" in arg for arg in argv), argv


@pytest.mark.parametrize(
    "env",
    [{}, {"POSTGRES_PASSWORD": "s3cret-pw"}],
    ids=["defaults", "password-overridden"],
)
def test_database_url_matches_db_service(env: dict[str, str]) -> None:
    doc = compose(env)
    db_env = environment(service(doc, DB_SERVICE))
    app_env = environment(service(doc, APP_SERVICE))
    url = urlsplit(app_env["REMEMBERER_DATABASE_URL"])
    assert url.scheme == "postgresql+psycopg"
    assert url.hostname == DB_SERVICE
    assert url.port == 5432
    assert unquote(url.username or "") == db_env["POSTGRES_USER"]
    assert unquote(url.password or "") == db_env["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == db_env["POSTGRES_DB"]
    if env:
        assert db_env["POSTGRES_PASSWORD"] == env["POSTGRES_PASSWORD"]


def test_admin_key_is_required_from_the_environment() -> None:
    raw = environment(service(raw_compose(), APP_SERVICE))
    assert "REMEMBERER_ADMIN_KEY" in raw
    with pytest.raises(MissingVariableError):
        interpolate_tree(raw_compose(), {})


def _settings_env_names() -> set[str]:
    prefix = str(Settings.model_config.get("env_prefix", "")).upper()
    return {prefix + name.upper() for name in Settings.model_fields}


def test_rememberer_env_vars_are_real_settings() -> None:
    known = _settings_env_names() | EXTRA_ENV_VARS
    used = {
        key
        for svc in (compose().get("services") or {}).values()
        for key in environment(svc)
        if key.startswith("REMEMBERER_")
    } | {key for key in dockerfile_env() if key.startswith("REMEMBERER_")}
    assert used, "no REMEMBERER_* variables found at all"
    assert used <= known, f"not Settings fields: {sorted(used - known)}"


def test_published_port_is_the_port_the_server_listens_on() -> None:
    port = serve_port()
    ports = container_ports(service(compose(), APP_SERVICE))
    assert port in ports, f"server listens on {port}, compose publishes {ports}"
    assert ports[port] == 8000
    exposed = {
        int(p.split("/")[0])
        for ins in dockerfile()
        if ins.keyword == "EXPOSE"
        for p in ins.args.split()
    }
    assert port in exposed


def test_healthchecks_probe_the_served_port() -> None:
    port = serve_port()
    probes = [" ".join(exec_or_shell(last("HEALTHCHECK").args.split("CMD", 1)[1].strip()))]
    probes.append(" ".join(healthcheck_argv(service(compose(), APP_SERVICE))))
    for probe in probes:
        assert "urllib" in probe, probe
        # Readiness (database, migrations, embedder), not mere liveness.
        assert f"127.0.0.1:{port}/readyz" in probe or f"localhost:{port}/readyz" in probe, probe


# --- Dockerfile -----------------------------------------------------------------------------


def test_base_image_is_python_311_slim() -> None:
    froms = [ins.args.split()[0] for ins in dockerfile() if ins.keyword == "FROM"]
    assert froms[-1] == "python:3.11-slim"


def test_cpu_torch_is_installed_before_the_project() -> None:
    torch_at = project_at = None
    for index, ins in enumerate(dockerfile()):
        if ins.keyword != "RUN":
            continue
        for args in pip_installs(ins.args):
            if f"torch=={TORCH_VERSION}" in args:
                given = option(args, "--index-url", "-i") or ""
                assert interpolate(given, dockerfile_args()) == TORCH_CPU_INDEX, args
                torch_at = index if torch_at is None else torch_at
            if "." in args:
                assert "-e" not in args and "--editable" not in args
                project_at = index if project_at is None else project_at
    assert torch_at is not None, f"no `pip install torch=={TORCH_VERSION}` from the CPU index"
    assert project_at is not None, "the project (`pip install .`) is never installed"
    assert torch_at < project_at


def test_copied_sources_exist() -> None:
    for ins in dockerfile():
        if ins.keyword not in ("COPY", "ADD") or "--from" in ins.args:
            continue
        words = [w for w in shlex.split(ins.args) if not w.startswith("--")]
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"{ins.keyword} {source}: missing from the repo"


def test_pip_installed_local_paths_are_projects() -> None:
    copied: set[str] = set()
    for ins in dockerfile():
        if ins.keyword == "COPY" and "--from" not in ins.args:
            words = [w for w in shlex.split(ins.args) if not w.startswith("--")]
            copied.update(Path(w).as_posix() for w in words[:-1])
    local = [
        arg
        for ins in dockerfile()
        if ins.keyword == "RUN"
        for args in pip_installs(ins.args)
        for arg in args
        if arg == "." or arg.startswith("./")
    ]
    assert local, "no local project is pip-installed"
    for arg in local:
        path = Path(arg).as_posix()
        assert path == "." or path in copied, f"pip install {arg}: never copied into the image"
        project = ROOT / arg
        assert (project / "pyproject.toml").is_file() or (project / "setup.py").is_file(), (
            f"pip install {arg}: no pyproject.toml or setup.py in {project}"
        )


def test_copied_sources_are_not_dockerignored() -> None:
    ignored = {
        line.strip().rstrip("/").removeprefix("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for ins in dockerfile():
        if ins.keyword in ("COPY", "ADD") and "--from" not in ins.args:
            words = [w for w in shlex.split(ins.args) if not w.startswith("--")]
            for source in words[:-1]:
                assert source.rstrip("/") not in ignored, f"{source} is in .dockerignore"


def test_image_works_offline() -> None:
    env = dockerfile_env()
    assert env.get("HF_HUB_OFFLINE") == "1"
    assert env.get("TRANSFORMERS_OFFLINE") == "1"


def test_image_converts_the_embedder_at_build_into_its_runtime_cache() -> None:
    from rememberer.cli import _parser

    instructions = dockerfile()
    runs = [
        i
        for i, ins in enumerate(instructions)
        if ins.keyword == "RUN" and "rememberer prepare-embedder" in ins.args
    ]
    assert runs, "the image never runs `rememberer prepare-embedder`"
    installed = [
        i
        for i, ins in enumerate(instructions)
        if ins.keyword == "RUN" and any("." in args for args in pip_installs(ins.args))
    ]
    assert installed and installed[0] < runs[0], "the embedder is prepared before the install"
    cache_set = [
        i
        for i, ins in enumerate(instructions[: runs[0]])
        if ins.keyword == "ENV" and "REMEMBERER_CACHE_DIR=" in ins.args
    ]
    assert cache_set, "REMEMBERER_CACHE_DIR is set only after the conversion"
    assert dockerfile_env().get("REMEMBERER_CACHE_DIR", "").startswith("/")
    assert _parser().parse_args(["prepare-embedder"]).command == "prepare-embedder"


def test_image_runs_as_non_root() -> None:
    user = last("USER").args.split(":")[0]
    assert user not in ("root", "0")


def test_cmd_migrates_then_serves_with_console_script() -> None:
    scripts = tomllib.loads(PYPROJECT.read_text())["project"]["scripts"]
    assert "rememberer" in scripts
    commands = cmd_commands()
    script_commands = [c for c in commands if c[0] == "rememberer"]
    assert script_commands == commands, f"CMD runs other programs: {commands}"
    subcommands = [c[1] for c in script_commands if len(c) > 1]
    assert subcommands == ["migrate", "serve"], subcommands
    # `&&` (not `;`): never serve against an unmigrated schema.
    script = exec_or_shell(last("CMD").args)[-1]
    assert re.search(r"rememberer\s+migrate\s*&&", script), script


def test_server_listens_on_all_interfaces_without_insecure() -> None:
    serve = serve_command()
    assert option(serve, "--host") == "0.0.0.0"
    assert "--insecure" not in serve


def test_dockerignore_excludes_local_state() -> None:
    patterns = {
        line.strip().rstrip("/").removeprefix("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for required in (".venv", ".git", ".data", ".env"):
        assert required in patterns, f".dockerignore does not exclude {required}"
    assert any("__pycache__" in p for p in patterns)


def _seconds(duration: str) -> float:
    """A compose duration such as "20s", "1m30s" or "1500ms"."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def test_stop_grace_period_outlasts_the_services_shutdown_timeout() -> None:
    """Docker's SIGKILL must come after the service has let requests in flight finish."""
    app = service(compose(), APP_SERVICE)
    default = Settings.model_fields["shutdown_timeout"].default
    timeout = float(environment(app).get("REMEMBERER_SHUTDOWN_TIMEOUT", default))
    assert "stop_grace_period" in app, "Docker's default (10 s) is no longer than the timeout"
    assert _seconds(str(app["stop_grace_period"])) > timeout


def test_readme_builds_the_image_and_states_the_admin_key_length() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^.*docker compose up.*$", readme, flags=re.MULTILINE)
    assert commands and all("--build" in c for c in commands), commands
    assert "16 characters" in readme


MAKEFILE = ROOT / "Makefile"


def makefile_variables() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in MAKEFILE.read_text().splitlines():
        if m := re.match(r"^([A-Z_]+)\s*[?:]?=\s*(.*)$", line):
            found[m[1]] = m[2].strip()
    return found


def test_makefile_installs_the_cpu_torch_before_the_project() -> None:
    """A plain `make install` must not pull PyTorch's CUDA build (GBs of NVIDIA wheels)."""
    variables = makefile_variables()
    assert variables.get("TORCH_INDEX") == TORCH_CPU_INDEX
    assert re.search(r"^TORCH_INDEX\s*\?=", MAKEFILE.read_text(), re.MULTILINE), "not overridable"
    recipe = MAKEFILE.read_text().split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    torch_at = recipe.find("--index-url $(TORCH_INDEX)")
    assert torch_at >= 0, recipe
    torch_line = recipe[torch_at:].splitlines()[0]
    assert "torch==$(TORCH_VERSION)" in torch_line and variables["TORCH_VERSION"] == TORCH_VERSION
    assert torch_at < recipe.find("-e '.[test]'")
