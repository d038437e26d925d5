"""`hudoor codes`: activation codes for staff, printable slips for guardians."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app, render_template
from flask.cli import AppGroup
from sqlalchemy import select

from core import bulk, codes
from core.attendance import roster
from core.models import CodeKind, Person, Role, School, SchoolClass
from core.runtime import runtime_of

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
    if issued.replaced:
        click.echo(f"note: the earlier unused code of {staff_id} no longer works", err=True)
    click.echo(f"{issued.display_name}: staff number {issued.number}, code {issued.code}, "
               f"valid until {issued.expires_at:%Y-%m-%d}")
    click.echo(f"To activate: dial {rt.config.ussd_code}, choose 1 (Activate teacher), "
               f"type the staff number {issued.number}, then the code {issued.code}.")


@group.command("slips")
@click.option("--class", "class_id", required=True, help="Upstream class id (e.g. SCH-0001-G3-B).")
@click.option("--by", default=None, help="The school champion issuing them (upstream id).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write printable HTML slips here (default: a text list on stdout).")
@click.option("--reissue", is_flag=True, default=False,
              help="Also reprint students whose slip is still unused: their old codes stop working.")
@click.option("--reason", default="unused slips reissued",
              help="Why (with --reissue: recorded with the bulk operation `hudoor bulk revert` undoes).")
def slips(class_id: str, by: str | None, out: Path | None, reissue: bool, reason: str) -> None:
    """Issue a slip code for every student of a class without one: guardians enrol over USSD with it.

    A slip already handed out keeps working: its student is skipped (and listed) unless
    --reissue is given, which cancels those codes and lists them loudly; a reissue is one
    bulk operation, reversible for 72 h (`hudoor bulk revert`).
    """
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        cls = session.scalars(select(SchoolClass).where(SchoolClass.upstream_id == class_id)).first()
        if cls is None:
            raise click.ClickException(f"no such class {class_id}")
        school = session.get(School, cls.school_id)
        actor = _actor(session, by, cls.school_id)
        students, _fp = roster(session, cls.id)
        rec = bulk.Recorder(session, "codes_reissue", actor, reason, rt.clock(),
                            summary={"class": class_id}) if reissue else None
        issued: list[tuple[int, codes.IssuedCode]] = []
        kept: list[str] = []
        cancelled: list[str] = []
        with click.progressbar(students, label=f"slips for {cls.name}", file=sys.stderr) as bar:
            for roll, (pid, name) in enumerate(bar, start=1):
                person = session.get(Person, pid)
                if codes.has_live_code(session, CodeKind.GUARDIAN_SLIP, pid):
                    if not reissue:
                        kept.append(f"{person.upstream_id}\t{name}")
                        continue
                    cancelled.append(f"{person.upstream_id}\t{name}")
                if rec is not None:
                    bulk.track_reissue(rec, CodeKind.GUARDIAN_SLIP.value, pid)
                issued.append((roll, codes.issue(session, rt.config.secret_key, CodeKind.GUARDIAN_SLIP,
                                                 person, actor=actor,
                                                 ttl=timedelta(days=rt.config.code_ttl_days))))
                if rec is not None:
                    bulk.note_issued(rec, CodeKind.GUARDIAN_SLIP.value, pid)
        if rec is not None:
            rec.summary.update(cancelled=len(cancelled), issued=len(issued))
            rec.finish()
    if kept:
        click.echo(f"{len(kept)} students still hold an unused slip (not reprinted; "
                   "--reissue cancels and reprints them):", err=True)
        click.echo("\n".join(f"  {line}" for line in kept), err=True)
    if cancelled:
        click.echo(f"WARNING: {len(cancelled)} unused slips handed out earlier are CANCELLED "
                   "and no longer work; give these students their new slip:", err=True)
        click.echo("\n".join(f"  {line}" for line in cancelled), err=True)
    if rec is not None:
        click.echo(f"recorded as bulk operation {rec.id}: `hudoor bulk revert {rec.id}` undoes it "
                   "for 72 h", err=True)
    if not issued:
        click.echo(f"class {class_id}: no new slips issued" if kept
                   else f"class {class_id} has no students: no slips issued")
        return
    if out is None:
        click.echo(f"Guardians dial {rt.config.ussd_code}, choose 2 (Register as parent), then type "
                   "the student number and the code.", err=True)
        for roll, slip in issued:
            click.echo(f"{roll:02d}\t{slip.display_name}\tstudent number {slip.number}\tcode {slip.code}")
        return
    html = render_template("slips.html", school=school, cls=cls, slips=[slip for _roll, slip in issued],
                           ussd_code=rt.config.ussd_code)
    out.write_text(html, encoding="utf-8")
    click.echo(f"{len(issued)} slips written to {out}")
