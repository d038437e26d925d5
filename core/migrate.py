"""Run Alembic migrations programmatically (`hudoor db upgrade`)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig

from core.config import ROOT


def alembic_config(url: str) -> AlembicConfig:
    """Return an Alembic config pointing at Hudoor's migrations and `url`."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision`."""
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    """Return the revision the database at `url` is at."""
    from alembic.runtime.migration import MigrationContext

    from core.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    return rev


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at `url` down to `revision` (check `core.rollback.plan` first)."""
    command.downgrade(alembic_config(url), revision)
