"""`hudoor codes`: activation codes for staff, printable slips for guardians."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app, render_template
from flask.cli import AppGroup
from sqlalchemy import select

from core import codes
from core.attendance import roster
from core.models import CodeKind, Person, Role, School, SchoolClass
from gateway.app import runtime_of

group = AppGroup("codes", help="One-time codes: staff activation, guardian slips.")


def _actor(session, by: str | None, school_id: int) -> str:  # type: ignore[no-untyped-def]
    if by is None:
        return "cli"
    champion = session.scalars(select(Person).where(Person.upstream_id == by)).first()
    if champion is None or champion.role != Role.CHAMPION.value or not champion.active:
        raise click.ClickException(f"{by} is not an active school champion")
    if champion.school_id != school_id:
        raise click.ClickException(f"{by} is a champion of another school")
    return f"champion:{by}"


@group.command("issue")
@click.option("--staff", "staff_id", required=True, help="Upstream staff id (e.g. STF-0001-0012).")
@click.option("--by", default=None, help="The school champion issuing it (upstream id).")
def issue(staff_id: str, by: str | None) -> None:
    """Issue an activation code a teacher types over USSD with their staff number."""
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        person = session.scalars(select(Person).where(Person.upstream_id == staff_id)).first()
        if person is None:
            raise click.ClickException(f"no such person {staff_id}")
        try:
            issued = codes.issue(session, rt.config.secret_key, CodeKind.STAFF_ACTIVATION, person,
                                 actor=_actor(session, by, person.school_id),
                                 ttl=timedelta(days=rt.config.code_ttl_days))
        except codes.CodeError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{issued.display_name}: staff number {issued.number}, code {issued.code}, "
               f"valid until {issued.expires_at:%Y-%m-%d}")
    click.echo(f"To activate: dial {rt.config.ussd_code}, choose 1 (Activate teacher), "
               f"type the staff number {issued.number}, then the code {issued.code}.")


@group.command("slips")
@click.option("--class", "class_id", required=True, help="Upstream class id (e.g. SCH-0001-G3-B).")
@click.option("--by", default=None, help="The school champion issuing them (upstream id).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write printable HTML slips here (default: a text list on stdout).")
def slips(class_id: str, by: str | None, out: Path | None) -> None:
    """Issue a slip code for every student of a class: guardians enrol over USSD with it."""
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        cls = session.scalars(select(SchoolClass).where(SchoolClass.upstream_id == class_id)).first()
        if cls is None:
            raise click.ClickException(f"no such class {class_id}")
        school = session.get(School, cls.school_id)
        actor = _actor(session, by, cls.school_id)
        students, _fp = roster(session, cls.id)
        issued = []
        with click.progressbar(students, label=f"slips for {cls.name}", file=sys.stderr) as bar:
            for pid, _name in bar:
                issued.append(codes.issue(session, rt.config.secret_key, CodeKind.GUARDIAN_SLIP,
                                          session.get(Person, pid), actor=actor,
                                          ttl=timedelta(days=rt.config.code_ttl_days)))
    if not issued:
        click.echo(f"class {class_id} has no students: no slips issued")
        return
    if out is None:
        click.echo(f"Guardians dial {rt.config.ussd_code}, choose 2 (Register as parent), then type "
                   "the student number and the code.", err=True)
        for roll, slip in enumerate(issued, start=1):
            click.echo(f"{roll:02d}\t{slip.display_name}\tstudent number {slip.number}\tcode {slip.code}")
        return
    html = render_template("slips.html", school=school, cls=cls, slips=issued,
                           ussd_code=rt.config.ussd_code)
    out.write_text(html, encoding="utf-8")
    click.echo(f"{len(issued)} slips written to {out}")
