"""Settings for every process (worker, API, CLI), read from ``YUANZHU_*`` environment variables.

Fails fast with a message naming the variable on a bad value, and refuses the development
secret outside development: a production deployment must set ``YUANZHU_SECRET_KEY``.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The only secret with a working default, and only in development (see the validator below).
DEVELOPMENT_SECRET = "dev-secret-not-for-production"


class SettingsError(RuntimeError):
    """A configuration value is missing or invalid; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YUANZHU_", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    # Where `yuanzhu up` keeps its files (databases, logs) in the embedded default.
    data_dir: Path = Path("var")
    database_url: str = ""
    # Unset, these two follow the embedded dev server's ports (temporal_port, temporal_ui_port)
    # so that moving those is enough to move everything; set, they win (an external cluster).
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "yuanzhu"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    secret_key: str = DEVELOPMENT_SECRET
    bind_host: str = "127.0.0.1"
    bind_port: int = Field(default=8000, ge=1, le=65535)
    temporal_port: int = Field(default=7233, ge=1, le=65535)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    # Access tokens (API bearer tokens and web sessions) live this long.
    token_ttl_minutes: int = Field(default=8 * 60, ge=1)
    # An assistance workflow continues as new past this many history events (tests: small).
    assistance_history_limit: int = Field(default=2000, ge=20)
    # Login throttling: at most this many failed logins per account (and per client address)
    # within the window; further attempts get 429 until the oldest failure leaves the window.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=30, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    # Anonymous applications (API and the public form; staff with a token are not limited):
    # at most this many per client address and per ID number, in the `limits` library's
    # notation ("10/minute;50/hour": every part holds); further ones get 429 with Retry-After.
    application_limit_per_address: str = "10/minute;50/hour"
    application_limit_per_id_number: str = "3/hour;10/day"
    # The public supplement page (补充材料): attempts at the case number, ID number's last six
    # and supplement code, per client address and per case number (every attempt counts, so a
    # guesser spread over many addresses is still held to the case's own window).
    supplement_limit_per_address: str = "10/minute;30/hour"
    supplement_limit_per_case: str = "5/hour;20/day"
    # Department data sharing (部门信息共享, activities/department.py). "imported": the lists an
    # administrator imports into the app database, which the API reads as well, so that it
    # pre-checks an application in the transaction that stores it (#22). "adapter": another
    # source plugged into the worker (build_worker's department_adapter), which only the
    # worker's assessment asks; packs that check department data are pre-checked there.
    department_data: Literal["imported", "adapter"] = "imported"
    # Seed demo accounts and jurisdictions on first start (command one turns this on).
    seed_demo: bool = False
    # Observability (docs/operations.md, "Observability / 监控").
    # Log lines: "text" for a person at a terminal, "json" (one object per line) for a log
    # collector. ID numbers are masked in both.
    log_format: Literal["text", "json"] = "text"
    # The worker's Prometheus endpoint (the Temporal SDK's metrics and ours) on
    # bind_host:port/metrics; 0 = off. Unset: off for `yuanzhu worker`, 9464 under `yuanzhu up`.
    worker_metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # When set, the API's /metrics answers only a scraper sending "Authorization: Bearer
    # <this>" (401 otherwise); empty = open, as /healthz (docs/operations.md, "Observability").
    metrics_token: str = ""
    # OpenTelemetry tracing through the Temporal interceptor, exported over OTLP/HTTP to this
    # traces URL (http://collector:4318/v1/traces); empty = off. Needs the `otel` extra.
    otel_endpoint: str = ""
    # Security (docs/operations.md): served over HTTPS by a TLS-terminating proxy. Session
    # cookies get Secure and every response Strict-Transport-Security, whatever scheme the
    # proxy forwards (a request that arrives as https already gets both).
    behind_tls: bool = False
    # Materials (证明材料) as files (store/files.py, docs/operations.md "Files"). "local": a
    # directory (files_dir, or <data_dir>/files when unset), all `make run` needs; "s3": an
    # S3-compatible object store (MinIO in docker-compose.yml) through boto3.
    file_store: Literal["local", "s3"] = "local"
    files_dir: Path | None = None
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_bucket: str = ""
    # No defaults, in any environment: a store the system would write personal papers into
    # with a made-up key must not start (see the validator below).
    s3_access_key: str = ""
    s3_secret_key: str = ""
    # What one file may be (store/file_checks.py): its size in bytes, how many files one
    # evidence item (证明材料) and one case may hold, an image's longest side once normalised
    # and its preview's.
    material_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    material_max_files_per_item: int = Field(default=10, ge=1)
    material_max_files_per_case: int = Field(default=60, ge=1)
    material_image_max_side: int = Field(default=3000, ge=200)
    material_preview_max_side: int = Field(default=480, ge=64)
    # How long a closed case's files are kept after it closed (years). Files are never removed
    # while a case refers to them and never before this; `yuanzhu files retention` lists those
    # past it (docs/operations.md "Files").
    materials_retention_years: int = Field(default=30, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _temporal_follows_the_embedded_ports(cls, data: object) -> object:
        """``YUANZHU_TEMPORAL_PORT=7300`` alone moves the dev server and the address everything
        connects to (and likewise the UI port and the UI links); an explicit address wins."""
        if not isinstance(data, dict):
            return data
        derived = dict(data)
        if not derived.get("temporal_address") and derived.get("temporal_port"):
            derived["temporal_address"] = f"127.0.0.1:{derived['temporal_port']}"
        if not derived.get("temporal_ui_url") and derived.get("temporal_ui_port"):
            derived["temporal_ui_url"] = f"http://127.0.0.1:{derived['temporal_ui_port']}"
        return derived

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://")):
            raise ValueError(
                "must start with 'sqlite+aiosqlite://' or 'postgresql+psycopg://' "
                f"(got {value.split('://')[0]!r})"
            )
        return value

    @field_validator(
        "application_limit_per_address",
        "application_limit_per_id_number",
        "supplement_limit_per_address",
        "supplement_limit_per_case",
    )
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError(
                f"must be rate limits like '10/minute;50/hour' (got {value!r})"
            ) from None
        return value

    @field_validator("temporal_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"must be host:port (got {value!r})")
        return value

    @model_validator(mode="after")
    def _no_development_secret_outside_development(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError(
                "YUANZHU_SECRET_KEY must be set to a real secret when "
                f"YUANZHU_ENVIRONMENT={self.environment}"
            )
        if len(self.secret_key) < 16:
            raise ValueError("YUANZHU_SECRET_KEY must be at least 16 characters")
        return self

    @model_validator(mode="after")
    def _s3_needs_its_place_and_keys(self) -> Settings:
        if self.file_store != "s3":
            return self
        missing = [
            f"YUANZHU_{name.upper()}"
            for name in ("s3_endpoint_url", "s3_bucket", "s3_access_key", "s3_secret_key")
            if not getattr(self, name)
        ]
        if missing:
            raise ValueError(f"YUANZHU_FILE_STORE=s3 needs {', '.join(missing)} to be set")
        return self

    @property
    def effective_files_dir(self) -> Path:
        """Where the local file store keeps files: ``files_dir``, or ``<data_dir>/files``."""
        return self.files_dir if self.files_dir is not None else self.data_dir / "files"

    @cached_property
    def effective_database_url(self) -> str:
        """The configured URL, or SQLite in the data directory for the embedded default."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'yuanzhu.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; turn validation errors into one clear line each."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            name = f"YUANZHU_{field.upper()}" if field != "settings" else "settings"
            lines.append(f"{name}: {err['msg'].removeprefix('Value error, ')}")
        raise SettingsError("; ".join(lines)) from None
