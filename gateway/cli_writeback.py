"""`hudoor writeback` and `hudoor reconcile`: the write-back outbox, its DLQ, reconciliation."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from core.writeback import outbox, service
from core.runtime import runtime_of

writeback = AppGroup("writeback", help="Attendance write-back to the upstream SIS (outbox, DLQ).")
dlq = AppGroup("dlq", help="Write-backs that kept failing: list them, replay them (audited).")
writeback.add_command(dlq)


@writeback.command("drain")
@click.option("--until-idle", is_flag=True, help="Keep sending until nothing is due.")
def drain(until_idle: bool) -> None:
    """Sweep confirmed class-days into the outbox and send what is due now."""
    counts = service.drain(runtime_of(current_app), until_idle=until_idle)
    click.echo(json.dumps(counts, sort_keys=True))


@writeback.command("lag")
def lag() -> None:
    """Print consumer lag: the age of the oldest unacknowledged write, and the counts."""
    rt = runtime_of(current_app)
    with rt.sessions() as session:
        click.echo(json.dumps(outbox.lag(session, rt.clock()), sort_keys=True))


@dlq.command("list")
def dlq_list() -> None:
    """List dead-lettered write-backs: id, class-day, revision, attempts, last error."""
    rt = runtime_of(current_app)
    with rt.sessions() as session:
        rows = outbox.dead_letters(session)
        for r in rows:
            click.echo(f"{r.id}\tclass {r.class_id}\t{r.day.isoformat()}\trev {r.revision}\t"
                       f"{r.attempts} attempts\t{r.last_error or ''}")
    if not rows:
        click.echo("the dead-letter list is empty")


@dlq.command("replay")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--by", "by", required=True, help="Who replays them (audited).")
@click.option("--reason", required=True, help="Why (audited).")
def dlq_replay(ids: tuple[int, ...], by: str, reason: str) -> None:
    """Put dead-lettered write-backs back in the outbox with fresh attempts."""
    rt = runtime_of(current_app)
    if not by.strip() or not reason.strip():
        raise click.ClickException("--by and --reason must not be empty")
    with rt.sessions() as session, session.begin():
        try:
            n = outbox.replay(session, list(ids), by=f"cli:{by}", reason=reason, now=rt.clock())
        except outbox.NotDead as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"replayed {n} write-back(s)")


@click.group("reconcile", cls=AppGroup, invoke_without_command=True)
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), help="The school day to reconcile.")
@click.option("--school", default=None, help="Only this upstream school id.")
@click.option("--json", "as_json", is_flag=True, help="Print every school-day's report as JSON.")
@click.pass_context
@with_appcontext
def reconcile(ctx: click.Context, day, school: str | None, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Compare each school-day with upstream by fingerprint, repair by re-sending, report."""
    if ctx.invoked_subcommand is not None:
        return
    if day is None:
        raise click.UsageError("--day is required")
    reports = service.reconcile(runtime_of(current_app), day.date(), school=school, actor="cli")
    if as_json:
        click.echo(json.dumps(reports, ensure_ascii=False))
    else:
        for r in reports:
            click.echo(f"{r['school']}\t{r['day']}\t{r['outcome']}\t{r['local']['digest'][:16]}\t"
                       + "; ".join(r["reasons"]))
        click.echo(f"{len(reports)} school-day(s): "
                   + ", ".join(f"{sum(1 for r in reports if r['outcome'] == o)} {o}"
                               for o in ("agreed", "repaired", "differing")))
    sys.exit(1 if any(r["outcome"] == "differing" for r in reports) else 0)


@reconcile.command("verify")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--school", default=None, help="Only this upstream school id.")
@click.option("--json", "as_json", is_flag=True)
def reconcile_verify(day, school: str | None, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Recompute both sides' fingerprints of a past school-day and check the stored report."""
    from core.reconcile import verify

    rt = runtime_of(current_app)
    client = rt.attendance_client()
    try:
        results = verify(rt.sessions, client, day.date(), school)
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], ensure_ascii=False))
    else:
        for r in results:
            click.echo(f"{'ok' if r.ok else 'FAILED'}\t{r.school}\t{r.day.isoformat()}\t{r.detail}")
        if not results:
            click.echo("no reconciliation report for that day")
    sys.exit(0 if results and all(r.ok for r in results) else 1)
