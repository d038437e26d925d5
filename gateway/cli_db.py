"""`hudoor db`: create, migrate and inspect the database schema."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from gateway.cli_common import rt

db = AppGroup("db", help="Database schema.")


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    from core import migrate

    url = rt().config.effective_database_url
    migrate.upgrade(url)
    click.echo(f"database at revision {migrate.current(url)}")
    from gateway.cli_audit import anchor_line

    click.echo(anchor_line())  # the first anchor fixes how many unkeyed audit rows may ever exist


@db.command("current")
def db_current() -> None:
    """Print the database's schema revision."""
    from core import migrate

    click.echo(migrate.current(rt().config.effective_database_url) or "empty")
