"""Read every setting from the environment, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting is missing or malformed."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class Config:
    """Hudoor's settings; build with `Config.from_env()`."""

    env: str = "development"
    var_dir: Path = ROOT / "var"
    database_url: str = ""
    replica_url: str = ""
    redis_url: str = ""
    upstream_url: str = "http://127.0.0.1:5050"
    upstream_token: str = ""
    upstream_page_size: int = 2000
    upstream_timeout: float = 30.0
    upstream_retries: int = 4
    sync_interval_seconds: int = 300
    secret_key: str = "dev-only-secret"
    callback_token: str = "dev-callback-token"
    timezone: str = "Africa/Cairo"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        """Build the config from HUDOOR_* environment variables."""
        env = os.environ if env is None else env
        mode = env.get("HUDOOR_ENV", "development")
        var_dir = Path(env.get("HUDOOR_VAR_DIR", str(ROOT / "var")))
        cfg = cls(
            env=mode,
            var_dir=var_dir,
            database_url=env.get("HUDOOR_DATABASE_URL", ""),
            replica_url=env.get("HUDOOR_REPLICA_URL", ""),
            redis_url=env.get("HUDOOR_REDIS_URL", ""),
            upstream_url=env.get("HUDOOR_UPSTREAM_URL", cls.upstream_url),
            upstream_token=env.get("HUDOOR_UPSTREAM_TOKEN", ""),
            upstream_page_size=_int(env, "HUDOOR_UPSTREAM_PAGE_SIZE", cls.upstream_page_size),
            upstream_retries=_int(env, "HUDOOR_UPSTREAM_RETRIES", cls.upstream_retries),
            sync_interval_seconds=_int(
                env, "HUDOOR_SYNC_INTERVAL_SECONDS", cls.sync_interval_seconds
            ),
            secret_key=env.get("HUDOOR_SECRET_KEY", cls.secret_key),
            callback_token=env.get("HUDOOR_CALLBACK_TOKEN", cls.callback_token),
        )
        cfg.check()
        return cfg

    def with_overrides(self, **changes: Any) -> "Config":
        """Return a copy with some settings replaced (tests use this)."""
        return replace(self, **changes)

    def check(self) -> None:
        """Fail fast on settings production cannot run without."""
        if self.env != "production":
            return
        missing = [
            name
            for name, value in (
                ("HUDOOR_DATABASE_URL", self.database_url),
                ("HUDOOR_REDIS_URL", self.redis_url),
                ("HUDOOR_SECRET_KEY", "" if self.secret_key == Config.secret_key else "x"),
                ("HUDOOR_CALLBACK_TOKEN", "" if self.callback_token == Config.callback_token else "x"),
            )
            if not value
        ]
        if missing:
            raise ConfigError("production needs " + ", ".join(missing))
        if self.sync_interval_seconds > 1800:  # see core.schedule
            raise ConfigError("HUDOOR_SYNC_INTERVAL_SECONDS above 1800 breaks the 1-hour revocation promise")

    @property
    def effective_database_url(self) -> str:
        """Return the database URL, defaulting to an SQLite file under var/."""
        return self.database_url or f"sqlite:///{self.var_dir / 'hudoor.db'}"
