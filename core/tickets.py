"""Support tickets on the ladder: Tier 0 champion → Tier 1 desk → Tier 2 platform ops → Tier 3
vendor, one tier at a time with a reason; security-flavoured tickets skip every tier (G4).

Every change writes a history row and an audit row (core.ticket_history). A ticket's text is
checked by core.ticket_text; a security ticket opens its breach case, evidence sealed, in the
same transaction (core.breach). Worklists are ordered by SLA due time: oldest first, never a
ranking of people or schools (G5).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import breach, support_clock, ticket_text
from core.api_tokens import CHAMPION_PERSON_ROLES
from core.standing import has_access
from core.evidence import Sources
from core.models import BreachCase, CentralStaff, Person, School, SupportTicket, TicketStatus
from core.rbac import Permission, Principal, Role
from core.school_calendar import SchoolCalendar
from core.i18n import _
from core.ticket_history import TIER_NAMES, TicketRefused, event, history, need, queue

CATEGORIES = ("ussd", "sms", "roster", "attendance", "access", "calendar", "other")
TOP_TIER = 3
TIER_ROLES = {1: "desk", 2: "ops"}  # central staff roles who own tickets at these tiers
VENDOR_PREFIX = "vendor:"  # Tier 3 owners are outside vendors, named "vendor:NAME"

__all__ = ["CATEGORIES", "TicketRefused", "Opened", "open_ticket", "escalate", "deescalate",
           "assign", "close", "flag_security", "get", "worklist", "worklist_for", "may_see",
           "history", "queue"]


@dataclass(frozen=True)
class Opened:
    ticket: SupportTicket
    case: BreachCase | None
    removed: tuple[str, ...]  # kinds stripped from the text, when asked to strip


def get(session: Session, ticket_id: int) -> SupportTicket:
    """Return a ticket, or refuse with a clear message."""
    ticket = session.get(SupportTicket, ticket_id)
    if ticket is None:
        raise TicketRefused(_("no ticket {ticket}"), ticket=ticket_id)
    return ticket


def _school_row(session: Session, school: str | None) -> School | None:
    if school is None:
        return None
    row = session.scalars(select(School).where(School.upstream_id == school)).first()
    if row is None:
        raise TicketRefused(_("no school {school}"), school=school)
    return row


def _check_people(session: Session, people: list[str]) -> None:
    known = set(session.scalars(select(Person.upstream_id).where(Person.upstream_id.in_(people))))
    known |= set(session.scalars(select(CentralStaff.staff_ref).where(
        CentralStaff.staff_ref.in_(people))))
    unknown = [p for p in people if p not in known]
    if unknown:
        raise TicketRefused(_("no person {people}: name people by their student or staff id"),
                            people=", ".join(unknown))


def _clean(text: str, field: str, strip: bool) -> tuple[str, list[str]]:
    if not strip:
        ticket_text.check(text, field=field)
        return text, []
    clean, found = ticket_text.strip(text)
    return clean, [f.kind for f in found]


def _sla(cal: SchoolCalendar, session: Session, ticket: SupportTicket, now: datetime) -> datetime:
    school = _school_row(session, ticket.school_upstream_id)
    return support_clock.ticket_sla_due(cal, now, ticket.tier, security=ticket.security,
                                        school=school.id if school else None)


def open_ticket(session: Session, *, by: str, category: str, title: str, description: str,
                school: str | None, people: list[str], tier: int | None, security: bool,
                strip: bool, now: datetime, cal: SchoolCalendar, sources: Sources) -> Opened:
    """Open a ticket (audited); a security one goes straight to security with its case.

    Raises:
        TicketRefused / ticket_text.TextRefused: the ticket cannot be stored as given.
    """
    need(by=by, title=title, description=description)
    if category not in CATEGORIES:
        raise TicketRefused(_("category must be one of {categories}"),
                            categories=", ".join(CATEGORIES))
    school_row = _school_row(session, school)
    people = list(dict.fromkeys(p.strip() for p in people if p.strip()))
    _check_people(session, people)
    title, removed = _clean(title.strip(), "title", strip)
    description, more = _clean(description.strip(), "description", strip)
    start = tier if tier is not None else (0 if school_row else 1)
    if start not in TIER_NAMES:
        raise TicketRefused(_("tier must be 0, 1, 2 or 3"))
    if start == 0 and school_row is None:
        raise TicketRefused(_("Tier 0 is a school's champion: give --school"))
    words = ticket_text.security_words(f"{title}\n{description}")
    ticket = SupportTicket(school_upstream_id=school, people=json.dumps(people), category=category,
                           title=title[:200], description=description, tier=start,
                           security=bool(security or words), opened_by=by[:100], opened_at=now,
                           updated_at=now, status=TicketStatus.OPEN.value)
    ticket.sla_due_at = support_clock.ticket_sla_due(
        cal, now, start, security=ticket.security, school=school_row.id if school_row else None)
    session.add(ticket)
    session.flush()
    event(session, ticket, actor=by, action="open", before=None, after=TIER_NAMES[start],
          reason="ticket opened", now=now,
          data={"category": category, "school": school, "people": people,
                "removed": removed + more})
    case = None
    if ticket.security:
        trigger = "flagged by " + by if security else "words: " + ", ".join(words)
        event(session, ticket, actor=by, action="security", before=TIER_NAMES[start],
              after=queue(ticket), reason=f"security-flavoured, every tier skipped ({trigger})",
              now=now)
        case = breach.open_case(session, ticket, by=by, trigger=trigger, now=now, cal=cal,
                                sources=sources)
    return Opened(ticket, case, tuple(removed + more))


def _open(session: Session, ticket_id: int) -> SupportTicket:
    ticket = get(session, ticket_id)
    if ticket.status != TicketStatus.OPEN.value:
        raise TicketRefused(_("ticket {ticket} is closed"), ticket=ticket_id)
    return ticket


def _move(session: Session, ticket_id: int, step: int, *, by: str, reason: str, now: datetime,
          cal: SchoolCalendar) -> SupportTicket:
    need(by=by, reason=reason)
    ticket = _open(session, ticket_id)
    if ticket.security:
        raise TicketRefused(_("ticket {ticket} is with security: no tier applies until security "
                              "decides it is not a breach"), ticket=ticket_id)
    target = ticket.tier + step
    if target > TOP_TIER:
        raise TicketRefused(_("ticket {ticket} is at {tier}: nothing above"), ticket=ticket_id,
                            tier=TIER_NAMES[ticket.tier])
    if target < 0:
        raise TicketRefused(_("ticket {ticket} is at {tier}: nothing below"), ticket=ticket_id,
                            tier=TIER_NAMES[ticket.tier])
    if target == 0 and ticket.school_upstream_id is None:
        raise TicketRefused(_("ticket {ticket} names no school, so no champion can take it"),
                            ticket=ticket_id)
    before = queue(ticket)
    ticket.tier, ticket.owner = target, None
    ticket.sla_due_at = _sla(cal, session, ticket, now)
    event(session, ticket, actor=by, action="escalate" if step > 0 else "deescalate",
          before=before, after=queue(ticket), reason=reason, now=now)
    return ticket


def escalate(session: Session, ticket_id: int, *, by: str, reason: str, now: datetime,
             cal: SchoolCalendar) -> SupportTicket:
    """Move a ticket one tier up (unassigned there, its SLA restarted); audited."""
    return _move(session, ticket_id, +1, by=by, reason=reason, now=now, cal=cal)


def deescalate(session: Session, ticket_id: int, *, by: str, reason: str, now: datetime,
               cal: SchoolCalendar) -> SupportTicket:
    """Move a ticket one tier down (unassigned there, its SLA restarted); audited."""
    return _move(session, ticket_id, -1, by=by, reason=reason, now=now, cal=cal)


def _check_owner(session: Session, ticket: SupportTicket, owner: str) -> None:
    if ticket.security or ticket.tier in TIER_ROLES:
        role = breach.SECURITY_ROLE if ticket.security else TIER_ROLES[ticket.tier]
        staff = session.scalars(select(CentralStaff).where(CentralStaff.staff_ref == owner)).first()
        if staff is None or not staff.active or staff.role != role:
            raise TicketRefused(_("{owner} is not an active {role} in the central staff register: "
                                  "a ticket at {queue} is owned by {role} staff"),
                                owner=owner, role=role, queue=queue(ticket))
    elif ticket.tier == 0:
        person = session.scalars(select(Person).where(Person.upstream_id == owner)).first()
        school = _school_row(session, ticket.school_upstream_id)
        if (person is None or school is None or person.school_id != school.id
                or person.role not in CHAMPION_PERSON_ROLES or not has_access(person)):
            raise TicketRefused(_("{owner} is not an active champion or principal of school {school}"),
                                owner=owner, school=ticket.school_upstream_id)
    elif not (owner.startswith(VENDOR_PREFIX) and len(owner) > len(VENDOR_PREFIX)):
        raise TicketRefused(_("a Tier 3 owner is a vendor, named {prefix}NAME"), prefix=VENDOR_PREFIX)


def assign(session: Session, ticket_id: int, *, owner: str, by: str, reason: str, now: datetime
           ) -> SupportTicket:
    """Give a ticket an owner who belongs to its tier (or to security); audited."""
    need(to=owner, by=by, reason=reason)
    ticket = _open(session, ticket_id)
    owner = owner.strip()
    _check_owner(session, ticket, owner)
    before = ticket.owner
    ticket.owner = owner[:100]
    event(session, ticket, actor=by, action="assign", before=before, after=ticket.owner,
          reason=reason, now=now)
    return ticket


def close(session: Session, ticket_id: int, *, by: str, reason: str, now: datetime) -> SupportTicket:
    """Close a ticket (audited); a security ticket only once its case is decided and done."""
    need(by=by, reason=reason)
    ticket = _open(session, ticket_id)
    case = breach.case_of_ticket(session, ticket_id)
    if ticket.security and case is not None:
        if case.decision is None:
            raise TicketRefused(_("breach case {case} is undecided: record a decision first "
                                  "(hudoor breach decide)"), case=case.id)
        if case.decision == "breach" and not (case.centre_notified_at and case.persons_notified_at):
            raise TicketRefused(_("breach case {case}: record both notices (Centre and persons) "
                                  "before closing"), case=case.id)
    ticket.status, ticket.closed_at = TicketStatus.CLOSED.value, now
    event(session, ticket, actor=by, action="close", before=queue(ticket), after="closed",
          reason=reason, now=now)
    return ticket


def flag_security(session: Session, ticket_id: int, *, by: str, reason: str, now: datetime,
                  cal: SchoolCalendar, sources: Sources) -> BreachCase:
    """Send an open ticket to security past every tier: case opened, evidence sealed; audited."""
    need(by=by, reason=reason)
    ticket = _open(session, ticket_id)
    existing = breach.case_of_ticket(session, ticket_id)
    if existing is not None:
        raise TicketRefused(_("ticket {ticket} already has breach case {case}"), ticket=ticket_id,
                            case=existing.id)
    before = queue(ticket)
    ticket.security, ticket.owner = True, None
    ticket.sla_due_at = _sla(cal, session, ticket, now)
    event(session, ticket, actor=by, action="security", before=before, after=queue(ticket),
          reason=reason, now=now)
    return breach.open_case(session, ticket, by=by, trigger=f"flagged by {by}: {reason}", now=now,
                            cal=cal, sources=sources)


def may_see(principal: Principal, ticket: SupportTicket) -> bool:
    """Tell whether `principal` may see `ticket` at all (API and console alike).

    Security tickets: only those who read breach cases. Champions: their own school's only.
    """
    if ticket.security and not principal.can(Permission.BREACH_READ):
        return False
    if principal.role is Role.CHAMPION:
        return ticket.school_upstream_id is not None and principal.sees_school(ticket.school_upstream_id)
    return True


def worklist_for(session: Session, principal: Principal, *, include_closed: bool = False
                 ) -> list[SupportTicket]:
    """Return the worklist `principal` may see, oldest SLA first."""
    return worklist(session, school=principal.school if principal.role is Role.CHAMPION else None,
                    include_security=principal.can(Permission.BREACH_READ),
                    include_closed=include_closed)


def worklist(session: Session, *, school: str | None = None, include_security: bool = True,
             include_closed: bool = False) -> list[SupportTicket]:
    """Return tickets by SLA due time, oldest first (a worklist, not a ranking)."""
    q = select(SupportTicket).order_by(SupportTicket.sla_due_at, SupportTicket.id)
    if school is not None:
        q = q.where(SupportTicket.school_upstream_id == school)
    if not include_security:
        q = q.where(SupportTicket.security.is_(False))
    if not include_closed:
        q = q.where(SupportTicket.status == TicketStatus.OPEN.value)
    return list(session.scalars(q))


def open_counts(session: Session) -> dict[str, int]:
    """Open tickets on the ladder by category and by tier, for the desk's analytics (G5).

    Security tickets are not counted: they are off the ladder, and a count the desk can
    watch would tell it a breach was being looked at.
    """
    live = (SupportTicket.status != TicketStatus.CLOSED.value, SupportTicket.security.is_(False))
    out = {f"tickets_{c}": 0 for c in CATEGORIES} | {f"tickets_tier_{t}": 0 for t in range(TOP_TIER + 1)}
    for category, n in session.execute(select(SupportTicket.category, func.count()).where(*live)
                                       .group_by(SupportTicket.category)):
        out[f"tickets_{category}"] = int(n)
    for tier, n in session.execute(select(SupportTicket.tier, func.count()).where(*live)
                                   .group_by(SupportTicket.tier)):
        out[f"tickets_tier_{tier}"] = int(n)
    return out
