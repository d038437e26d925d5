"""`hudoor adjustments`: retroactive corrections with reason and approver; central exceptions."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import adjustments as adj
from core.models import AttendanceAdjustment, Person, School
from core.runtime import runtime_of

group = AppGroup("adjustments", help="Retroactive attendance adjustments (3 working days, then locked).")
REASONS = click.Choice([r.value for r in adj.Reason])
TO = click.Choice(list(adj.STATUSES))


def _person(session: Session, upstream_id: str) -> Person:
    person = session.scalars(select(Person).where(Person.upstream_id == upstream_id)).first()
    if person is None:
        raise click.ClickException(f"no such person {upstream_id}")
    return person


def _run(fn):  # type: ignore[no-untyped-def]
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as session, session.begin():
            out = fn(session, rt.config, rt.clock())
            click.echo(json.dumps(adj.as_dict(session, rt.config, out), ensure_ascii=False))
    except adj.AdjustmentError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


@group.command("request")
@click.option("--student", required=True, help="Upstream student id.")
@click.option("--day", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "to_status", required=True, type=TO)
@click.option("--reason", required=True, type=REASONS)
@click.option("--by", "by", required=True, help="Upstream staff id of who asks.")
def request_cmd(student: str, day, to_status: str, reason: str, by: str) -> None:  # type: ignore[no-untyped-def]
    """Ask for a student-day to change; a principal or champion of the school decides."""
    def go(session: Session, config, now):  # type: ignore[no-untyped-def]
        return adj.request(session, config, person_id=_person(session, student).id,
                           day=day.date(), to_status=to_status, reason=adj.Reason(reason),
                           requested_by=f"staff:{_person(session, by).id}", now=now)
    _run(go)


@group.command("decide")
@click.argument("adjustment_id", type=int)
@click.option("--approve/--reject", required=True)
@click.option("--by", "by", required=True, help="Upstream staff id of the principal or champion.")
def decide_cmd(adjustment_id: int, approve: bool, by: str) -> None:
    """Approve or reject a pending adjustment."""
    _run(lambda session, config, now: adj.decide(session, config, adjustment_id,
                                                 approver_id=_person(session, by).id,
                                                 approve=approve, now=now))


@group.command("exception")
@click.option("--student", required=True)
@click.option("--day", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "to_status", required=True, type=TO)
@click.option("--reason", required=True, type=REASONS)
@click.option("--ref", required=True, help="The central audit reference (directive, ticket).")
@click.option("--by", "by", required=True, help="Who grants it centrally (audited).")
def exception_cmd(student: str, day, to_status: str, reason: str, ref: str, by: str) -> None:  # type: ignore[no-untyped-def]
    """Change a student-day past its window: a central, audited exception (never per school)."""
    _run(lambda session, config, now: adj.central_exception(
        session, config, person_id=_person(session, student).id, day=day.date(), to_status=to_status,
        reason=adj.Reason(reason), ref=ref, by=f"central:{by}", now=now))


@group.command("list")
@click.option("--school", default=None, help="Upstream school id.")
@click.option("--state", default="pending", type=click.Choice(["pending", "approved", "rejected",
                                                               "expired", "all"]))
def list_cmd(school: str | None, state: str) -> None:
    """List adjustments as JSON lines."""
    rt = runtime_of(current_app)
    with rt.sessions() as session:
        q = select(AttendanceAdjustment).order_by(AttendanceAdjustment.id)
        if state != "all":
            q = q.where(AttendanceAdjustment.state == state)
        if school:
            q = q.join(School, School.id == AttendanceAdjustment.school_id).where(
                School.upstream_id == school)
        rows = session.scalars(q).all()
        for row in rows:
            click.echo(json.dumps(adj.as_dict(session, rt.config, row)))
    if not rows:  # on stderr: stdout stays JSON lines for scripts
        click.echo(f"no {'' if state == 'all' else state + ' '}adjustments"
                   f"{' at ' + school if school else ''}", err=True)
