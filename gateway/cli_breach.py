"""`hudoor breach`: suspected personal-data breaches, their PDPL clocks, evidence, decisions."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from gateway.cli_common import rt
from gateway.cli_tickets import _cal, _change

group = AppGroup("breach", help="Breach cases: clocks (72 h Centre, 3 working days persons), evidence.")


def _at(moment) -> str:  # type: ignore[no-untyped-def]
    from core import calendar

    return calendar.to_cairo(moment).isoformat(timespec="minutes")


@group.command("list")
def list_() -> None:
    """Open clocks, soonest first: case, ticket, clock, due (Cairo), time left, decision."""
    from core import breach

    runtime = rt()
    with runtime.sessions() as session:
        clocks = breach.open_clocks(session, runtime.clock())
    if not clocks:
        click.echo("no open breach clocks", err=True)
    for k in clocks:
        click.echo(f"{k.case_id}\tticket {k.ticket_id}\t{k.name}\tdue {_at(k.due)}\t{k.left}\t{k.decision}")


@group.command("verify")
@click.argument("case_id", type=int)
def verify(case_id: int) -> None:
    """Re-hash the case's sealed evidence and compare; exit 1 on any difference."""
    from core import breach

    with _change() as (session, _runtime):
        checks = breach.verify(session, case_id)
    for c in checks:
        click.echo(f"snapshot {c.snapshot_id}\tsha256 {c.sha256}\t{'ok' if c.ok else 'BROKEN'}")
        for problem in c.problems:
            click.echo(f"  {problem}", err=True)
    if not all(c.ok for c in checks):
        raise SystemExit(1)


@group.command("decide")
@click.argument("case_id", type=int)
@click.option("--decision", type=click.Choice(["breach", "not-a-breach"]), required=True)
@click.option("--by", "actor", required=True, help="A security officer's staff id (audited).")
@click.option("--reason", required=True, help="Why (audited).")
def decide(case_id: int, decision: str, actor: str, reason: str) -> None:
    """Record a security officer's decision (not-a-breach: never in the first hour)."""
    from core import breach

    with _change() as (session, runtime):
        case = breach.decide(session, case_id, decision=decision, by=actor, reason=reason,
                             now=runtime.clock(), cal=_cal(session, runtime))
        click.echo(f"breach case {case.id}: {case.decision}, by {case.decided_by}")


@group.command("notified")
@click.argument("case_id", type=int)
@click.option("--to", "to", type=click.Choice(["centre", "persons"]), required=True)
@click.option("--by", "actor", required=True)
@click.option("--reason", required=True, help="How and when the notice went (audited).")
def notified(case_id: int, to: str, actor: str, reason: str) -> None:
    """Record that the Centre or the persons concerned were notified (stops that clock)."""
    from core import breach

    with _change() as (session, runtime):
        breach.notified(session, case_id, to=to, by=actor, reason=reason, now=runtime.clock())
    click.echo(f"breach case {case_id}: {to} notice recorded")


@group.command("show")
@click.argument("case_id", type=int)
def show(case_id: int) -> None:
    """A case: its clocks, notices and every decision (who, when, why)."""
    from core import breach

    with _change() as (session, runtime):
        c = breach.get(session, case_id)
        now = runtime.clock()
        from core.support_clock import time_left

        click.echo(f"breach case {c.id}\tticket {c.ticket_id}\topened {_at(c.opened_at)} by "
                   f"{c.flagged_by}\t{c.trigger}")
        for name, due, done in (("centre", c.centre_due_at, c.centre_notified_at),
                                ("persons", c.persons_due_at, c.persons_notified_at)):
            state = f"notified {_at(done)}" if done else time_left(due, now)
            click.echo(f"  {name}\tdue {_at(due)}\t{state}")
        for d in breach.decisions(session, case_id):
            click.echo(f"  {_at(d.decided_at)}\t{d.decided_by}\t{d.decision}\t{d.reason}")
