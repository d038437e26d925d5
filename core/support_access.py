"""Delegated-access support views: a desk agent sees what a school or a person sees, read-only,
only while its champion (or the person) grants it over USSD (R6).

Not core/delegation.py (a teacher's substitute takes a class); here nobody acts as anyone:
a grant lets one agent read one scope for a time box, every view is audited and carries a
watermark (agent, grant id, expiry). A grant ends by itself, when revoked over USSD, or when
the agent or the grantor leaves (core/access.py, core/staff_register.py call in here), and
every view re-checks all of that, like admin tokens. Decision: docs/decisions/0025.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core import audit, calendar, merge
from core.standing import has_access
from core.attendance import classes_for
from core.disclosure import cell
from core.models import (
    AttendanceMark,
    AttendanceRecord,
    CentralStaff,
    Person,
    Role,
    School,
    SchoolClass,
    SupportGrant,
    SupportGrantState,
)
from core.rbac import Role as ApiRole

DURATIONS = (60, 240, 1440)  # minutes: 1 h, 4 h, 1 day
PENDING_FOR = timedelta(days=1)  # an unanswered request older than this is no longer shown
STAFF_ROLES = (Role.TEACHER.value, Role.CHAMPION.value, Role.PRINCIPAL.value)


class SupportRefused(ValueError):
    """The request or answer cannot be taken (unknown scope, nobody to grant, not yours)."""


class NotLive(PermissionError):
    """This grant does not allow a view now (not granted, expired, revoked, someone left)."""


class NoSuchGrant(NotLive):
    """No grant by that id was asked for by this agent."""


@dataclass(frozen=True)
class Watermark:
    agent: str
    grant_id: int
    expires_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "grant": self.grant_id, "expires_at": self.expires_at.isoformat(),
                "text": self.text()}

    def until(self) -> str:
        """Return the expiry in Cairo time, to the minute."""
        return calendar.to_cairo(self.expires_at).strftime("%Y-%m-%d %H:%M")

    def text(self) -> str:
        return (f"Support view by {self.agent} · grant {self.grant_id} · read-only until "
                f"{self.until()} Cairo")


def request(session: Session, *, agent_ref: str, scope: str, target: str, minutes: int,
            reason: str, now: datetime) -> SupportGrant:
    """Record a desk agent's request for a view of a school or a staff member (audited)."""
    agent = session.scalars(select(CentralStaff).where(CentralStaff.staff_ref == agent_ref)).first()
    if agent is None or not agent.active or agent.role != ApiRole.DESK.value:
        raise SupportRefused(f"{agent_ref} is not an active desk agent")
    if minutes not in DURATIONS:
        raise SupportRefused(f"duration must be one of {', '.join(map(str, DURATIONS))} minutes")
    if not reason.strip():
        raise SupportRefused("a reason is required")
    person: Person | None = None
    if scope == "school":
        school = session.scalars(select(School).where(School.upstream_id == target)).first()
        if school is None:
            raise SupportRefused(f"no such school {target}")
        if not _champions(session, school.id):
            raise SupportRefused(f"{target} has no champion with a phone to grant it")
        school_id = school.id
    elif scope == "person":
        found = merge.find(session, target)
        person = session.get(Person, merge.canonical(session, found.id)) if found else None
        if person is None or person.role not in STAFF_ROLES or not has_access(person):
            raise SupportRefused(f"{target} is not a staff member with access (only staff can grant"
                                 " a view of themself)")
        school_id = person.school_id
    else:
        raise SupportRefused("scope must be school or person")
    row = SupportGrant(agent_id=agent.id, scope=scope, school_id=school_id,
                       person_id=person.id if person else None, minutes=minutes,
                       reason=reason[:300], state=SupportGrantState.PENDING.value,
                       requested_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor=f"desk:{agent_ref}", action="support.request",
                 entity="support_grant", entity_id=row.id, reason=reason,
                 data={"scope": scope, "target": target, "minutes": minutes})
    return row


def _champions(session: Session, school_id: int) -> list[Person]:
    return [p for p in session.scalars(select(Person).where(
        Person.school_id == school_id, Person.role == Role.CHAMPION.value, Person.active.is_(True)))
        if has_access(p)]


def _may_answer(session: Session, grant: SupportGrant, staff: Person | None) -> bool:
    """Tell whether this staff member grants for this request: the school's champion, or the person."""
    if staff is None or not has_access(staff):
        return False
    if grant.scope == "person":
        return grant.person_id == staff.id
    return staff.role == Role.CHAMPION.value and staff.school_id == grant.school_id


def _visible(session: Session, staff_id: int) -> Any:
    staff = session.get(Person, staff_id)
    if staff is None:
        return None, []
    cond = SupportGrant.person_id == staff.id
    if staff.role == Role.CHAMPION.value:
        cond = or_(cond, (SupportGrant.scope == "school") & (SupportGrant.school_id == staff.school_id))
    return staff, cond


def pending_for(session: Session, staff_id: int, now: datetime) -> list[SupportGrant]:
    """Return the requests waiting for this staff member's answer, oldest first."""
    staff, cond = _visible(session, staff_id)
    if staff is None or not has_access(staff):
        return []
    return list(session.scalars(select(SupportGrant).where(
        cond, SupportGrant.state == SupportGrantState.PENDING.value,
        SupportGrant.requested_at > now - PENDING_FOR).order_by(SupportGrant.id)))


def live_for(session: Session, staff_id: int, now: datetime) -> list[SupportGrant]:
    """Return the live grants this staff member may end (their school's, or of themself)."""
    staff, cond = _visible(session, staff_id)
    if staff is None or not has_access(staff):
        return []
    return list(session.scalars(select(SupportGrant).where(
        cond, SupportGrant.state == SupportGrantState.GRANTED.value,
        SupportGrant.revoked_at.is_(None), SupportGrant.expires_at > now).order_by(SupportGrant.id)))


def decide(session: Session, grant_id: int, staff_id: int, *, grant: bool, now: datetime,
           actor: str) -> SupportGrant:
    """Grant (for the asked time box, from now) or refuse a pending request."""
    row = session.scalars(select(SupportGrant).where(SupportGrant.id == grant_id)
                          .with_for_update()).first()
    staff = session.get(Person, staff_id)
    if row is None or not _may_answer(session, row, staff):
        raise SupportRefused("not a request you can answer")
    if row.state != SupportGrantState.PENDING.value or row.requested_at <= now - PENDING_FOR:
        raise SupportRefused("this request was already answered or is too old")
    row.decided_by, row.decided_at = staff_id, now
    if grant:
        row.state, row.expires_at = SupportGrantState.GRANTED.value, now + timedelta(minutes=row.minutes)
    else:
        row.state = SupportGrantState.REFUSED.value
    audit.record(session, actor=actor, action="support.grant" if grant else "support.refuse",
                 entity="support_grant", entity_id=row.id, reason="answered over USSD",
                 data={"by": staff_id, "expires_at": row.expires_at.isoformat() if row.expires_at else None})
    return row


def revoke(session: Session, grant_id: int, staff_id: int, *, now: datetime, actor: str) -> SupportGrant:
    """End a live grant now (the grantor, or another champion of the school, over USSD)."""
    row = session.get(SupportGrant, grant_id)
    if row is None or not _may_answer(session, row, session.get(Person, staff_id)):
        raise SupportRefused("not a grant you can end")
    if row.state != SupportGrantState.GRANTED.value or row.revoked_at is not None:
        raise SupportRefused("this grant is not live")
    row.revoked_at, row.revoked_reason = now, "ended over USSD"
    audit.record(session, actor=actor, action="support.revoke", entity="support_grant",
                 entity_id=row.id, reason="ended over USSD", data={"by": staff_id})
    return row


def end_for_people(session: Session, person_ids: list[int], now: datetime, reason: str) -> int:
    """End live grants and pending requests that rest on people who lost access."""
    if not person_ids:
        return 0
    live = session.execute(update(SupportGrant).where(
        or_(SupportGrant.person_id.in_(person_ids), SupportGrant.decided_by.in_(person_ids)),
        SupportGrant.state == SupportGrantState.GRANTED.value, SupportGrant.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason[:200])).rowcount or 0
    asked = session.execute(update(SupportGrant).where(
        SupportGrant.person_id.in_(person_ids), SupportGrant.state == SupportGrantState.PENDING.value)
        .values(state=SupportGrantState.WITHDRAWN.value)).rowcount or 0
    return int(live + asked)


def end_for_agent(session: Session, agent_id: int, now: datetime, reason: str) -> int:
    """End every live grant and pending request of a desk agent who left the register."""
    live = session.execute(update(SupportGrant).where(
        SupportGrant.agent_id == agent_id, SupportGrant.state == SupportGrantState.GRANTED.value,
        SupportGrant.revoked_at.is_(None)).values(revoked_at=now, revoked_reason=reason[:200])
    ).rowcount or 0
    asked = session.execute(update(SupportGrant).where(
        SupportGrant.agent_id == agent_id, SupportGrant.state == SupportGrantState.PENDING.value)
        .values(state=SupportGrantState.WITHDRAWN.value)).rowcount or 0
    return int(live + asked)


@dataclass(frozen=True)
class LiveGrant:
    grant: SupportGrant
    agent: CentralStaff
    watermark: Watermark


def check_live(session: Session, grant_id: int, agent_ref: str, now: datetime) -> LiveGrant:
    """Return the grant if `agent_ref` may view under it now; else raise NotLive saying why."""
    row = session.get(SupportGrant, grant_id)
    agent = session.get(CentralStaff, row.agent_id) if row else None
    if row is None or agent is None or agent.staff_ref != agent_ref:
        raise NoSuchGrant("no such grant for you")
    if row.state == SupportGrantState.PENDING.value:
        raise NotLive("not granted yet: the champion or the person answers over USSD")
    if row.state != SupportGrantState.GRANTED.value or row.expires_at is None:
        raise NotLive(f"this request was {row.state}")
    if row.revoked_at is not None:
        raise NotLive(f"ended at {_cairo(row.revoked_at)}: {row.revoked_reason}")
    if now >= row.expires_at:
        raise NotLive(f"expired at {_cairo(row.expires_at)}; ask again")
    if not agent.active:
        raise NotLive("your desk access has ended")
    grantor = session.get(Person, row.decided_by) if row.decided_by else None
    if grantor is None or not has_access(grantor):
        raise NotLive("the person who granted it no longer has access")
    subject = session.get(Person, row.person_id) if row.person_id else None
    if row.scope == "person" and (subject is None or not has_access(subject)):
        raise NotLive("the person no longer has access")
    return LiveGrant(row, agent, Watermark(agent.display_name, row.id, row.expires_at))


def record_view(session: Session, live: LiveGrant, page: str) -> None:
    """Audit one page an agent saw under a grant."""
    audit.record(session, actor=f"desk:{live.agent.staff_ref}", action="support.view",
                 entity="support_grant", entity_id=live.grant.id, reason="delegated read-only view",
                 data={"page": page, "scope": live.grant.scope})


def school_view(session: Session, live: LiveGrant, day: date) -> dict[str, Any]:
    """What the champion sees: classes and the day's aggregates (no ranking, small cells hidden)."""
    school = session.get(School, live.grant.school_id)
    assert school is not None
    classes = session.execute(select(SchoolClass.id, SchoolClass.upstream_id, SchoolClass.name).where(
        SchoolClass.school_id == school.id, SchoolClass.active.is_(True))
        .order_by(SchoolClass.upstream_id)).all()
    counts: dict[int, dict[str, int]] = {}
    for cid, size, status, n in session.execute(
            select(AttendanceRecord.class_id, AttendanceRecord.class_size, AttendanceMark.status,
                   func.count(AttendanceMark.id))
            .outerjoin(AttendanceMark, AttendanceMark.record_id == AttendanceRecord.id)
            .where(AttendanceRecord.day == day, AttendanceRecord.class_id.in_([c[0] for c in classes]))
            .group_by(AttendanceRecord.class_id, AttendanceRecord.class_size, AttendanceMark.status)):
        entry = counts.setdefault(cid, {"size": size, "absent": 0, "late": 0})
        if status:
            entry[status] = n
    rows = [{"class": up, "name": name, "taken": cid in counts,
             **({k: cell(v) for k, v in counts[cid].items()} if cid in counts else {})}
            for cid, up, name in classes]  # by class id, never by a rate: no league table
    return {"scope": "school", "school": school.upstream_id, "name": school.name,
            "day": day.isoformat(), "classes_taken": len(counts), "classes": rows,
            "watermark": live.watermark.as_dict()}


def person_view(session: Session, live: LiveGrant, day: date, now: datetime) -> dict[str, Any]:
    """What the staff member sees on their phone: their classes today and whether taken."""
    person = session.get(Person, live.grant.person_id)
    assert person is not None
    rows = classes_for(session, person.id, day, now)
    return {"scope": "person", "person": person.upstream_id, "name": person.display_name,
            "role": person.role, "day": day.isoformat(),
            "classes": [{"name": r.name, "size": cell(r.size), "taken": r.taken,
                         "substitute": r.delegated} for r in rows],
            "watermark": live.watermark.as_dict()}


def as_dict(row: SupportGrant) -> dict[str, Any]:
    return {"id": row.id, "scope": row.scope, "state": row.state, "minutes": row.minutes,
            "requested_at": row.requested_at.isoformat(),
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None}


def _cairo(when: datetime) -> str:
    return calendar.to_cairo(when).strftime("%Y-%m-%d %H:%M Cairo")
