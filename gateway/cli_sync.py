"""`hudoor sync` and `hudoor contract`: the roster from upstream, and upstream's schema versions."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from gateway.cli_common import progress, rt

sync = AppGroup("sync", help="Roster and identity sync from the upstream SIS.")
contract = AppGroup("contract", help="Upstream schema versions and their notice.")


def _sync_errors(fn):  # type: ignore[no-untyped-def]
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        from core.sync.runs import SyncBusy
        from core.upstream.client import UpstreamError
        from core.upstream.versions import SchemaVersionRefused

        try:
            return fn(*args, **kwargs)
        except (SchemaVersionRefused, UpstreamError, SyncBusy) as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


@sync.command("full")
@click.option("--school", default=None, help="Sync only this upstream school id.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_sync_errors
def sync_full(school: str | None, as_json: bool) -> None:
    """Sync every school's full roster (resumes an interrupted run)."""
    from core.sync.full import run_full

    runtime = rt()
    report = run_full(runtime.sessions, runtime.upstream(), school=school, actor="cli",
                      progress=progress)
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False) if as_json else report.summary())


@sync.command("delta")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_sync_errors
def sync_delta(as_json: bool) -> None:
    """Apply upstream's change feed since the last delta sync."""
    from core.sync.delta import run_delta

    runtime = rt()
    report = run_delta(runtime.sessions, runtime.upstream(), actor="cli", progress=progress)
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False) if as_json else report.summary())


@sync.command("report")
@click.argument("run_id", required=False, type=int)
def sync_report(run_id: int | None) -> None:
    """Print the report of a sync run (the latest by default) as JSON."""
    from sqlalchemy import select

    from core.models import SyncRun
    from core.sync.runs import report

    with rt().sessions() as session:
        q = select(SyncRun).order_by(SyncRun.id.desc())
        run = session.get(SyncRun, run_id) if run_id else session.scalars(q.limit(1)).first()
        if run is None:
            raise click.ClickException("no such sync run")
        click.echo(json.dumps(report(run, False, 0.0).as_dict(), ensure_ascii=False, indent=2))


@contract.command("register")
@click.argument("version")
@click.option("--effective", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--notice", default=None, type=click.DateTime(["%Y-%m-%d"]),
              help="Only today is accepted: the notice is the day of registration.")
@click.option("--by", "actor", default="cli", help="Who registers it (audited).")
def contract_register(version: str, effective, notice, actor: str) -> None:  # type: ignore[no-untyped-def]
    """Register an upstream schema version announced today, effective 30 days on or later."""
    from core.upstream.versions import NoticeTooShort, RegistrationRefused, register

    runtime = rt()
    today = runtime.today()
    if notice is not None and notice.date() != today:
        raise click.ClickException(f"the notice date is the day of registration ({today}); "
                                   f"{notice.date()} cannot be given")
    with runtime.sessions() as session, session.begin():
        try:
            new = register(session, version, effective.date(), actor, today)
        except (NoticeTooShort, RegistrationRefused) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"version {version} {'accepted' if new else 'already registered, unchanged:'}"
               f" from {effective.date().isoformat()} (notice {today.isoformat()})")


@contract.command("list")
def contract_list() -> None:
    """List the upstream schema versions accepted today."""
    from core.upstream.versions import accepted_versions

    runtime = rt()
    with runtime.sessions() as session:
        versions = sorted(accepted_versions(session, runtime.today()))
    click.echo(" ".join(versions) if versions else "no upstream schema version is accepted today")
