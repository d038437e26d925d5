"""The breach path: a security ticket opens a case, seals evidence and starts the PDPL clocks.

"Bug or breach? Breach, for the first hour": a case is treated as a breach from the moment
it opens; nobody may call it not-a-breach within its first hour, and the evidence is sealed
before anyone can act. Egypt's PDPL (Law 151/2020, executive regulations in force since
1 Nov 2026): notice to the Centre within 72 hours, to the persons within 3 working days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, evidence, support_clock
from core.models import (
    BreachCase,
    BreachDecision,
    CentralStaff,
    EvidenceSnapshot,
    SupportTicket,
)
from core.school_calendar import SchoolCalendar
from core.i18n import _
from core.ticket_history import TicketRefused, event, need, queue

DECISIONS = ("breach", "not-a-breach")
NOTICES = ("centre", "persons")
FIRST_HOUR = timedelta(hours=1)
SECURITY_ROLE = "security"


class BreachRefused(TicketRefused):
    """A breach-case change was refused (the message says why)."""


def open_case(session: Session, ticket: SupportTicket, *, by: str, trigger: str, now: datetime,
              cal: SchoolCalendar, sources: evidence.Sources) -> BreachCase:
    """Open the case of a security ticket, start its clocks and seal its evidence (audited)."""
    due = support_clock.breach_deadlines(cal, now)
    case = BreachCase(ticket_id=ticket.id, opened_at=now, flagged_by=by[:100],
                      trigger=trigger[:200], centre_due_at=due.centre, persons_due_at=due.persons)
    session.add(case)
    session.flush()
    audit.record(session, actor=by, action="breach.open", entity="breach_case", entity_id=case.id,
                 reason=f"security ticket {ticket.id}: {trigger}"[:300],
                 data={"ticket": ticket.id, "centre_due_at": due.centre.isoformat(),
                       "persons_due_at": due.persons.isoformat()})
    evidence.seal(session, case_id=case.id, ticket_id=ticket.id, people=json.loads(ticket.people),
                  school=ticket.school_upstream_id, taken_by=by, now=now, sources=sources)
    return case


def get(session: Session, case_id: int) -> BreachCase:
    """Return a case, or refuse with a clear message."""
    case = session.get(BreachCase, case_id)
    if case is None:
        raise BreachRefused(_("no breach case {case}"), case=case_id)
    return case


def _security_staff(session: Session, by: str) -> None:
    staff = session.scalars(select(CentralStaff).where(CentralStaff.staff_ref == by)).first()
    if staff is None or not staff.active or staff.role != SECURITY_ROLE:
        raise BreachRefused(_("{by} is not an active security officer in the central staff "
                              "register: only security decides on a breach"), by=by)


def decide(session: Session, case_id: int, *, decision: str, by: str, reason: str,
           now: datetime, cal: SchoolCalendar) -> BreachCase:
    """Record a security officer's decision (kept, audited); not-a-breach returns the ticket.

    Raises:
        BreachRefused: unknown case or decision, no reason, not a security officer, or
            not-a-breach within the first hour.
    """
    need(by=by, reason=reason)
    if decision not in DECISIONS:
        raise BreachRefused(_("decision must be one of {decisions}"), decisions=", ".join(DECISIONS))
    case = get(session, case_id)
    _security_staff(session, by)
    if decision == "not-a-breach" and now < case.opened_at + FIRST_HOUR:
        raise BreachRefused(_("a suspected breach is treated as a breach for its first hour: "
                              "not-a-breach can be decided from {moment}"),
                            moment=(case.opened_at + FIRST_HOUR).isoformat(timespec="minutes"))
    if decision == "not-a-breach" and (case.centre_notified_at or case.persons_notified_at):
        raise BreachRefused(_("notices already went out for this case; it stays a breach"))
    seq = audit.record(session, actor=by, action="breach.decide", entity="breach_case",
                       entity_id=case.id, reason=reason,
                       data={"decision": decision, "was": case.decision})
    session.add(BreachDecision(case_id=case.id, decision=decision, decided_by=by[:100],
                               decided_at=now, reason=reason[:300], audit_seq=seq))
    case.decision, case.decided_by, case.decided_at = decision, by[:100], now
    ticket = session.get(SupportTicket, case.ticket_id)
    if decision == "not-a-breach" and ticket is not None and ticket.security:
        # A bug after all: the ticket goes back to the ladder, to platform ops (it was
        # serious enough to look like a breach), with a fresh SLA. The case and evidence stay.
        before = queue(ticket)
        ticket.security, ticket.tier, ticket.owner = False, max(ticket.tier, 2), None
        ticket.sla_due_at = support_clock.ticket_sla_due(cal, now, ticket.tier, security=False,
                                                         school=None)
        event(session, ticket, actor=by, action="returned", before=before, after=queue(ticket),
              reason=f"breach case {case.id} decided not a breach: {reason}"[:300], now=now)
    return case


def notified(session: Session, case_id: int, *, to: str, by: str, reason: str,
             now: datetime) -> BreachCase:
    """Record that the Centre or the persons were notified (stops that clock; audited)."""
    need(by=by, reason=reason)
    if to not in NOTICES:
        raise BreachRefused(_("--to must be one of {notices}"), notices=", ".join(NOTICES))
    case = get(session, case_id)
    _security_staff(session, by)
    if case.decision == "not-a-breach":
        raise BreachRefused(_("case {case} was decided not a breach: there is nobody to notify"),
                            case=case_id)
    column = f"{to}_notified_at"
    if getattr(case, column) is not None:
        raise BreachRefused(_("the {to} notice of case {case} is already recorded"), to=to, case=case_id)
    setattr(case, column, now)
    audit.record(session, actor=by, action="breach.notified", entity="breach_case",
                 entity_id=case.id, reason=reason, data={"to": to, "at": now.isoformat()})
    return case


@dataclass(frozen=True)
class Clock:
    case_id: int
    ticket_id: int
    name: str  # "centre" | "persons"
    due: datetime
    left: str
    decision: str  # "undecided (treated as a breach)" | "breach"


def open_clocks(session: Session, now: datetime) -> list[Clock]:
    """Return every running clock (no notice recorded, not decided not-a-breach), soonest first."""
    cases = session.scalars(select(BreachCase).where(
        (BreachCase.decision.is_(None)) | (BreachCase.decision != "not-a-breach"))).all()
    clocks = []
    for c in cases:
        decided = c.decision or "undecided (treated as a breach)"
        for name, due, done in (("centre", c.centre_due_at, c.centre_notified_at),
                                ("persons", c.persons_due_at, c.persons_notified_at)):
            if done is None:
                clocks.append(Clock(c.id, c.ticket_id, name, due,
                                    support_clock.time_left(due, now), decided))
    return sorted(clocks, key=lambda k: (k.due, k.case_id))


def case_of_ticket(session: Session, ticket_id: int) -> BreachCase | None:
    """Return a ticket's breach case, if it has one."""
    return session.scalars(select(BreachCase).where(BreachCase.ticket_id == ticket_id)).first()


def decisions(session: Session, case_id: int) -> list[BreachDecision]:
    """Return a case's decisions, oldest first."""
    return list(session.scalars(select(BreachDecision).where(BreachDecision.case_id == case_id)
                                .order_by(BreachDecision.id)))


def verify(session: Session, case_id: int) -> list[evidence.EvidenceCheck]:
    """Re-hash every evidence snapshot of a case and compare (see core.evidence.verify)."""
    get(session, case_id)
    snaps = session.scalars(select(EvidenceSnapshot).where(EvidenceSnapshot.case_id == case_id)
                            .order_by(EvidenceSnapshot.id)).all()
    if not snaps:
        raise BreachRefused(_("case {case} has no sealed evidence"), case=case_id)
    return [evidence.verify(session, s) for s in snaps]
