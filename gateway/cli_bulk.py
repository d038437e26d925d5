"""`hudoor bulk`: reversible bulk operations (list, show, revert within 72 h) and bulk unlinking."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import bulk
from core.models import CentralStaff, ContactKind, Enrolment, Person, Role, School, SchoolClass
from core.rbac import GRANTS, Permission
from core.rbac import Role as ApiRole
from gateway.cli_common import progress, rt

if TYPE_CHECKING:
    from core.runtime import Runtime

def forget_touched(runtime: "Runtime", op_id: int) -> None:
    """Make the USSD menus of every SIM an operation (or its revert) relinked reflect it now."""
    from core.pseudonyms import msisdn_ref
    from ussd.cache import HopCache

    with runtime.sessions() as session:
        sims = bulk.touched_sims(session, op_id)
    cache = HopCache(runtime.redis)
    for msisdn in sims:
        cache.forget_caller(msisdn_ref(runtime.config.secret_key, msisdn))


group = AppGroup("bulk", help="Reversible bulk operations: list, show, revert (72 h), unlink.")


def central_actor(session: Session, by: str, permission: Permission) -> str:
    """Return the audit actor for an active central staff member holding `permission`."""
    staff = session.scalars(select(CentralStaff).where(CentralStaff.staff_ref == by)).first()
    if staff is None or not staff.active:
        raise click.ClickException(f"{by} is not an active central staff member (hudoor staff list)")
    if permission not in GRANTS[ApiRole(staff.role)]:
        raise click.ClickException(f"{by} is {staff.role}: {permission.value} is not granted to that role")
    return f"{staff.role}:{by}"


@group.command("list")
def list_cmd() -> None:
    """List the latest bulk operations as JSON lines (newest first), with their state."""
    runtime = rt()
    with runtime.sessions() as session:
        rows = bulk.listing(session, runtime.clock())
    for row in rows:
        click.echo(json.dumps(row.as_dict(), ensure_ascii=False))
    if not rows:
        progress("no bulk operations")


@group.command("show")
@click.argument("op_id", type=int)
def show_cmd(op_id: int) -> None:
    """Show one operation with the before- and after-image of every row it touched."""
    runtime = rt()
    with runtime.sessions() as session:
        try:
            view = bulk.show(session, op_id, runtime.clock())
        except bulk.BulkError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(view.as_dict(), ensure_ascii=False, indent=1))


@group.command("revert")
@click.argument("op_id", type=int)
@click.option("--by", required=True, help="Central staff id of who reverts it (ops).")
@click.option("--reason", required=True, help="Why (audited).")
def revert_cmd(op_id: int, by: str, reason: str) -> None:
    """Undo a bulk operation within 72 h; refused, changing nothing, if its rows changed since."""
    runtime = rt()
    try:
        with runtime.sessions() as session, session.begin():
            actor = central_actor(session, by, Permission.BULK_REVERT)
            view = bulk.revert(session, op_id, by=actor, reason=reason, now=runtime.clock())
    except bulk.BulkError as exc:
        raise click.ClickException(str(exc)) from exc
    forget_touched(runtime, view.id)
    click.echo(f"operation {view.id} ({view.kind}) reverted")


@group.command("unlink")
@click.option("--kind", required=True, type=click.Choice(["guardian", "staff"]),
              help="guardian: parents' SIMs linked to students; staff: teachers' bound SIMs.")
@click.option("--class", "class_id", default=None,
              help="Every student (guardian) or teacher (staff) of a class.")
@click.option("--school", default=None, help="Every student or staff member of a school.")
@click.option("--person", "people", multiple=True, help="An upstream person id (repeatable).")
@click.option("--by", required=True, help="Central staff id of who does it (ops).")
@click.option("--reason", required=True, help="Why (audited).")
def unlink_cmd(kind: str, class_id: str | None, school: str | None, people: tuple[str, ...],
               by: str, reason: str) -> None:
    """End many SIM links at once as ONE operation `hudoor bulk revert` can undo for 72 h."""
    if sum(bool(x) for x in (class_id, school, people)) != 1:
        raise click.UsageError("give exactly one of --class, --school, --person")
    runtime = rt()
    roles = [Role.STUDENT.value] if kind == "guardian" else [
        Role.TEACHER.value, Role.CHAMPION.value, Role.PRINCIPAL.value]
    try:
        with runtime.sessions() as session, session.begin():
            actor = central_actor(session, by, Permission.BULK_REVERT)
            q = select(Person.id).where(Person.role.in_(roles))
            if class_id:
                cls = session.scalars(select(SchoolClass).where(SchoolClass.upstream_id == class_id)).first()
                if cls is None:
                    raise click.ClickException(f"no such class {class_id}")
                q = q.join(Enrolment, Enrolment.person_id == Person.id).where(
                    Enrolment.class_id == cls.id, Enrolment.ended_at.is_(None))
            elif school:
                row = session.scalars(select(School).where(School.upstream_id == school)).first()
                if row is None:
                    raise click.ClickException(f"no such school {school}")
                q = q.where(Person.school_id == row.id)
            else:
                q = q.where(Person.upstream_id.in_(people))
            ids = sorted(set(session.scalars(q)))
            if people and len(ids) != len(set(people)):
                raise click.ClickException("unknown person id, or not a "
                                           f"{'student' if kind == 'guardian' else 'staff member'}")
            progress(f"unlinking {kind} SIMs of {len(ids)} people")
            op = bulk.unlink(session, ids, ContactKind(kind), actor=actor, reason=reason,
                             now=runtime.clock(),
                             summary={"scope": class_id or school or ",".join(people)})
            summary = json.loads(op.summary)
    except bulk.BulkError as exc:
        raise click.ClickException(str(exc)) from exc
    forget_touched(runtime, op.id)
    click.echo(f"operation {op.id}: {summary['links_ended']} {kind} links ended; "
               f"`hudoor bulk revert {op.id} --by … --reason …` undoes it for 72 h")
