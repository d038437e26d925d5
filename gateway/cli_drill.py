"""`hudoor drill`: disaster-recovery drills, run as ops would run them in anger."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from gateway.cli_common import progress, rt

group = AppGroup("drill", help="Disaster-recovery drills: a verified restore, not a verified backup.")


@group.command("restore")
@click.option("--sample", default=20, show_default=True, type=click.IntRange(0, 10_000),
              help="School-days read through the app on the restored copy.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the backup and the restored copy live meanwhile (default: a temp dir).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def drill_restore(sample: int, workdir: Path | None, as_json: bool) -> None:
    """Back up, restore into a fresh database, verify, read through the app; report RPO/RTO.

    Exits 1 when any check fails. The source database is only read.
    """
    from gateway import drill

    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    report = drill.run(rt(), sample=sample, progress=progress, workdir=workdir)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, default=str))
    else:
        for check in report.checks:
            click.echo(f"{'ok ' if check.ok else 'FAILED'} {check.name}: {check.detail}")
        click.echo(f"backup {report.backup_bytes / 2**20:.1f} MiB in {report.backup_seconds:.1f} s"
                   f"; restore {report.restore_seconds:.1f} s; verify {report.verify_seconds:.1f} s")
        click.echo(f"RTO {report.rto_seconds:.1f} s (restore start → the copy answered every read)")
        click.echo(f"RPO {report.rpo_seconds:.1f} s (backup snapshot → copy ready; "
                   f"{report.writes_since_backup} audited changes since the backup would be lost)")
        click.echo("drill passed" if report.ok else "drill FAILED")
    sys.exit(0 if report.ok else 1)
