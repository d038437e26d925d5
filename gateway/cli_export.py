"""`hudoor export` and `hudoor import`: the record as an open Data Package (CSV + descriptor)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from gateway.cli_common import progress, rt


@click.command("export")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="A new (or empty) directory for datapackage.json and the CSV files.")
@with_appcontext
def export_cmd(out: Path) -> None:
    """Write schools, classes, people, marks, adjustments and audit as a Data Package."""
    from core.portability.export import ExportError, export_package

    runtime = rt()
    try:
        with runtime.sessions() as session:
            counts = export_package(session, out, progress)
            session.rollback()
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({"out": str(out), "rows": counts}, sort_keys=True))


@click.command("import")
@click.option("--from", "source", required=True,
              type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="A directory written by `hudoor export`.")
@click.option("--by", "by", required=True, help="Who loads it (recorded with the import).")
@click.option("--reason", required=True, help="Why (recorded with the import).")
@with_appcontext
def import_cmd(source: Path, by: str, reason: str) -> None:
    """Load an export into an EMPTY instance: all of it or, on any problem, nothing."""
    from core import audit_anchor
    from core.portability.load import NotEmpty, PackageError, import_package

    runtime = rt()
    try:
        with runtime.sessions() as session, session.begin():
            counts = import_package(session, source, by=by, reason=reason, progress=progress)
    except PackageError as exc:
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException(f"nothing imported: {len(exc.problems)} problem(s) in "
                                   f"{source}") from exc
    except NotEmpty as exc:
        raise click.ClickException(str(exc)) from exc
    with runtime.sessions() as session:  # pin the loaded chain's head in this instance's anchors
        try:
            audit_anchor.anchor_now(session, runtime.config.audit_anchor_path, runtime.clock())
        except audit_anchor.AuditBroken as exc:
            progress(f"warning: imported head not anchored: {exc}")
    click.echo(json.dumps({"from": str(source), "rows": counts}, sort_keys=True))
