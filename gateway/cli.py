"""The `hudoor` command: every operation of the service."""

from __future__ import annotations

import json
import sys


import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup

from core import audit as audit_log
from core import migrate
from core.sandbox.cli import sandbox as sandbox_cli
from core.sync.runs import SyncBusy
from core.upstream.client import UpstreamError
from core.upstream.versions import NoticeTooShort, SchemaVersionRefused
from digests.cli import sms as sms_cli
from gateway.app import create_app, runtime_of
from gateway.cli_adjustments import group as adjustments_group
from gateway.cli_codes import group as codes_group
from gateway.cli_tokens import group as tokens_group
from gateway.cli_writeback import reconcile as reconcile_cli, writeback as writeback_cli


def _rt():  # type: ignore[no-untyped-def]
    return runtime_of(current_app)


def _progress(msg: str) -> None:
    click.echo(msg, err=True)


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def cli() -> None:
    """Hudoor: SMS/USSD-first messaging for school attendance."""


db = AppGroup("db", help="Database schema.")
sync = AppGroup("sync", help="Roster and identity sync from the upstream SIS.")
audit = AppGroup("audit", help="The hash-chained audit log.")
contract = AppGroup("contract", help="Upstream schema versions and their notice.")
for group in (db, sync, audit, contract):
    cli.add_command(group)
cli.add_command(sandbox_cli)
cli.add_command(codes_group)
cli.add_command(tokens_group)
cli.add_command(sms_cli)
cli.add_command(writeback_cli)
cli.add_command(adjustments_group)
cli.add_command(reconcile_cli)
from digests.commands import digests as digests_cli, dlq as dlq_cli, simulator as simulator_cli  # noqa: E402

for sms_group in (digests_cli, dlq_cli, simulator_cli):
    cli.add_command(sms_group)


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    url = _rt().config.effective_database_url
    migrate.upgrade(url)
    click.echo(f"database at revision {migrate.current(url)}")


@db.command("current")
def db_current() -> None:
    """Print the database's schema revision."""
    click.echo(migrate.current(_rt().config.effective_database_url) or "empty")


def _sync_errors(fn):  # type: ignore[no-untyped-def]
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
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

    rt = _rt()
    report = run_full(rt.sessions, rt.upstream(), school=school, actor="cli", progress=_progress)
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False) if as_json else report.summary())


@sync.command("delta")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_sync_errors
def sync_delta(as_json: bool) -> None:
    """Apply upstream's change feed since the last delta sync."""
    from core.sync.delta import run_delta

    rt = _rt()
    report = run_delta(rt.sessions, rt.upstream(), actor="cli", progress=_progress)
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False) if as_json else report.summary())


@sync.command("report")
@click.argument("run_id", required=False, type=int)
def sync_report(run_id: int | None) -> None:
    """Print the report of a sync run (the latest by default) as JSON."""
    from sqlalchemy import select

    from core.models import SyncRun
    from core.sync.runs import report

    with _rt().sessions() as session:
        q = select(SyncRun).order_by(SyncRun.id.desc())
        run = session.get(SyncRun, run_id) if run_id else session.scalars(q.limit(1)).first()
        if run is None:
            raise click.ClickException("no such sync run")
        click.echo(json.dumps(report(run, False, 0.0).as_dict(), ensure_ascii=False, indent=2))


@audit.command("verify")
@click.option("--expect-head", default=None, help="Head hash recorded elsewhere, to catch truncation.")
def audit_verify(expect_head: str | None) -> None:
    """Check every link of the audit chain; exit 1 on any break."""
    with _rt().sessions() as session:
        result = audit_log.verify(session, expect_head=expect_head)
    for problem in result.problems:
        click.echo(f"BROKEN: {problem}", err=True)
    click.echo(f"{'ok' if result.ok else 'FAILED'}: {result.checked} entries checked, "
               f"head seq {result.head_seq} hash {result.head_hash}")
    sys.exit(0 if result.ok else 1)


@contract.command("register")
@click.argument("version")
@click.option("--notice", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--effective", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--by", "actor", default="cli", help="Who registers it (audited).")
def contract_register(version: str, notice, effective, actor: str) -> None:  # type: ignore[no-untyped-def]
    """Register an upstream schema version announced with at least 30 days' notice."""
    from core.upstream.versions import register

    with _rt().sessions() as session, session.begin():
        try:
            register(session, version, notice.date(), effective.date(), actor)
        except NoticeTooShort as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"version {version} accepted from {effective.date().isoformat()}")


@contract.command("list")
def contract_list() -> None:
    """List the upstream schema versions accepted today."""
    from core import calendar
    from core.upstream.versions import accepted_versions

    with _rt().sessions() as session:
        click.echo(" ".join(sorted(accepted_versions(session, calendar.today()))))


@cli.command("ussd-warm")
def ussd_warm() -> None:
    """Warm the USSD hop caches now (the scheduler does it before the first bell)."""
    from ussd.warmup import warm_now

    click.echo(f"warmed {warm_now(_rt())} staff SIMs")


@cli.command("worker")
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then stop.")
def worker(burst: bool) -> None:
    """Run an RQ worker on Hudoor's queues (urgent first, digests last)."""
    from rq import Worker

    from core.jobs import QUEUES

    Worker(list(QUEUES), connection=_rt().redis).work(burst=burst)


@cli.command("scheduler")
def scheduler() -> None:
    """Enqueue the periodic jobs (delta sync every HUDOOR_SYNC_INTERVAL_SECONDS)."""
    from rq.cron import CronScheduler

    from core import schedule

    rt = _rt()
    cron = CronScheduler(connection=rt.redis)
    schedule.register(cron, rt.config)
    cron.start()


def main() -> None:
    """Entry point of the `hudoor` console script."""
    cli.main(prog_name="hudoor")


