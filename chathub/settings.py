"""Configuration from the environment (prefix CHATHUB_) and an optional .env file.

Read once at start-up with `load_settings()`; a bad value stops start-up with one clear sentence
(`SettingsError`), never a traceback.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dotenv import dotenv_values
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from chathub import netguard
from chathub.spelling import did_you_mean

# On SQLite one process owns the database, so a key generated into its data folder will do; PostgreSQL is how
# several instances share one, and each must sign and read the same session cookies and media links.
SHARED_SECRET_KEY_NEEDED = (
    "CHATHUB_SECRET_KEY must be set on PostgreSQL: every instance on the database signs sign-in cookies and media "
    "links with it, so give all of them the same long random value (e.g. from `openssl rand -base64 48`)"
)


class SettingsError(Exception):
    """A configuration value that start-up refuses; the message is meant for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHATHUB_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    media_dir: Path | None = None  # unset: DATA_DIR/media; several instances need one folder they all share
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    secret_key: str = ""
    admin_email: str = ""
    admin_password: str = ""
    max_webhook_bytes: int = Field(1024 * 1024, ge=1)
    # Session cookie only over HTTPS; unset: when CHATHUB_PUBLIC_URL is https. Set false to also sign in over
    # plain http (an SSH tunnel to the server, a test against a local URL).
    secure_cookies: bool | None = None
    max_media_bytes: int = Field(20 * 1024 * 1024, ge=1)  # inbound media fetched and attachments uploaded
    outbound_concurrency: int = Field(4, ge=1)
    max_attempts: int = Field(3, ge=1)
    retry_base_seconds: float = Field(1.0, ge=0)
    reconnect_seconds: float = Field(120.0, gt=0)  # how long a dropped tab may come back and catch up
    # Networks a customer's media URL may point into besides public addresses (netguard.py): "10.0.0.0/8, ::1".
    media_fetch_allow: str = ""
    webhook_log_days: int = Field(30, ge=1)  # processed and rejected webhook logs are deleted after this many days
    body_timeout_seconds: float = Field(10.0, gt=0)  # a request body must arrive in time (routes/body_deadline.py)
    # Webhooks acknowledged here and not yet processed, at most: past it, intake waits for the worker (at most
    # webhook_backlog_wait_seconds), so a burst is acknowledged at the pace it is processed (services/webhooks.py).
    webhook_backlog: int = Field(1000, ge=1)
    webhook_backlog_wait_seconds: float = Field(5.0, ge=0)
    # How long an instance holds a reply it sends or a file it fetches; past it (the instance died mid-call) another
    # one takes the work over. Longer than any provider call.
    work_lease_seconds: float = Field(120.0, ge=5)
    # On PostgreSQL, how often the outbound and media workers look for work another instance queued or left.
    work_poll_seconds: float = Field(2.0, gt=0)
    snooze_check_seconds: float = Field(30.0, gt=0)  # how often snoozed conversations whose time came are reopened
    min_free_mb: int = Field(100, ge=0)  # /healthz says degraded below this much free space in CHATHUB_DATA_DIR
    # Open and pending conversations without a message for this many hours are resolved; unset: never.
    auto_resolve_hours: float | None = Field(None, gt=0, le=100_000, allow_inf_nan=False)

    @field_validator("auto_resolve_hours", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("port")
    @classmethod
    def _port_in_range(cls, port: int) -> int:
        if not 0 < port < 65536:
            raise ValueError("must be between 1 and 65535")
        return port

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, url: str) -> str:
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url.rstrip("/")

    @field_validator("media_fetch_allow")
    @classmethod
    def _media_fetch_allow_parses(cls, text: str) -> str:
        netguard.parse_allow_list(text)
        return text

    @property
    def media_fetch_networks(self) -> netguard.AllowList:
        return netguard.parse_allow_list(self.media_fetch_allow)

    @field_validator("database_url")
    @classmethod
    def _database_url_parses(cls, url: str) -> str:
        if url:
            try:
                is_async = make_url(url).get_dialect().is_async
            except ArgumentError:
                raise ValueError("is not a database URL (e.g. sqlite+aiosqlite:///data/chathub.db)") from None
            if not is_async:
                raise ValueError("needs an asyncio driver (e.g. sqlite+aiosqlite:///data/chathub.db)")
        return url

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if self.media_dir is None:
            self.media_dir = self.data_dir / "media"
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'chathub.db'}"
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        if bool(self.admin_email) != bool(self.admin_password):
            raise ValueError("CHATHUB_ADMIN_EMAIL and CHATHUB_ADMIN_PASSWORD must be set together")
        if self.admin_password and len(self.admin_password) < 8:
            raise ValueError("CHATHUB_ADMIN_PASSWORD must have at least 8 characters")
        return self

    @property
    def database_url_shown(self) -> str:
        """The database URL as logs and messages show it: its password masked."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_file(self) -> Path | None:
        """The database file, on SQLite (none for an in-memory database or another server)."""
        database = make_url(self.database_url).database if self.is_sqlite else None
        return Path(database) if database and database != ":memory:" else None


def read_settings() -> Settings:
    """Read and check the settings, changing nothing on disk."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


def load_settings() -> Settings:
    """Read and check the settings, make the data folder and keep a generated secret key in it."""
    settings = read_settings()
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SettingsError(f"CHATHUB_DATA_DIR {settings.data_dir} cannot be created: {error.strerror}") from None
    if not settings.secret_key:
        if not settings.is_sqlite:
            raise SettingsError(SHARED_SECRET_KEY_NEEDED)
        settings.secret_key = _stored_secret_key(settings.data_dir)
    return settings


def unknown_variables() -> list[str]:
    """One warning line for each CHATHUB_ variable, in the environment or the .env file, that no setting reads
    (a misspelt name is otherwise ignored without a word). Start-up goes on: it is a warning, not a refusal."""
    prefix, env_file = Settings.model_config["env_prefix"], Path(Settings.model_config["env_file"])
    known = [f"{prefix}{name.upper()}" for name in Settings.model_fields]
    places = {"the environment": os.environ, str(env_file): dotenv_values(env_file) if env_file.is_file() else {}}
    unknown = [
        (name, place)
        for place, variables in places.items()
        for name in sorted(variables)
        if name.upper().startswith(prefix) and name.upper() not in known
    ]
    return [
        f"{name} in {place} is not a ChatHub setting and is ignored"
        f"{did_you_mean(name.upper(), known, shared_prefix=prefix)}."
        for name, place in unknown
    ]


def _stored_secret_key(data_dir: Path) -> str:
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    # Created owner-only from the start: never readable by others, not even for a moment.
    with os.fdopen(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write(key)
    return key


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = "_".join(str(part) for part in first["loc"]).upper()
    message = first["msg"].removeprefix("Value error, ")
    return f"Invalid setting CHATHUB_{field}: {message}" if field else f"Invalid settings: {message}"
