"""A complete, valid production environment for config tests; override one thing at a time."""

from __future__ import annotations

import secrets


def production_env(**overrides: str) -> dict[str, str]:
    """Return HUDOOR_* variables production starts with; `overrides` replace or add some."""
    env = {"HUDOOR_ENV": "production", "HUDOOR_DATABASE_URL": "postgresql+psycopg://db/hudoor",
           "HUDOOR_REDIS_URL": "redis://redis:6379/0", "HUDOOR_UPSTREAM_URL": "https://sis.example.eg",
           "HUDOOR_UPSTREAM_TOKEN": "upstream-issued-token", "HUDOOR_SMS_PROVIDER": "africastalking",
           "HUDOOR_AT_API_KEY": "at-issued-key", "HUDOOR_AUDIT_ANCHOR_FILE": "/srv/audit/anchors.log"}
    for name in ("SECRET_KEY", "USSD_CALLBACK_TOKEN", "DLR_CALLBACK_TOKEN", "INBOUND_CALLBACK_TOKEN",
                 "AUDIT_KEY"):
        env[f"HUDOOR_{name}"] = secrets.token_urlsafe(32)
    env.update(overrides)
    return env
