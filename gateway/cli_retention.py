"""`hudoor retention run`: apply the retention schedule now (the scheduler runs it nightly)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from gateway.cli_common import progress, rt

retention = AppGroup("retention", help="The retention schedule (docs/PRIVACY.md).")


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
def retention_run(dry_run: bool) -> None:
    """Purge or tombstone what the schedule says is past its time; print a summary."""
    from core import retention as schedule

    runtime = rt()
    total = 0
    with runtime.sessions() as session, session.begin():
        for i, outcome in enumerate(schedule.run(session, runtime.clock(),
                                                 secret=runtime.config.secret_key,
                                                 dry_run=dry_run, actor="cli"), start=1):
            progress(f"[{i}/{len(schedule.RULES)}] {outcome.rule}: {outcome.action.value} "
                     f"{outcome.rows}")
            total += outcome.rows
            click.echo(f"{outcome.rule}\t{outcome.action.value}\t{outcome.rows}")
        if dry_run:
            session.rollback()
    verb = "would change" if dry_run else "changed"
    click.echo(f"retention: {verb} {total} rows ({'dry run, nothing written' if dry_run else 'audited'})")
