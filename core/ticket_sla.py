"""Tickets past their SLA: an audited escalation event once per deadline, and the count the
wall shows (scheduled by gateway/schedule.py; the clock is the caller's, so tests inject it).

The desk worklists already order tickets by SLA due time; this makes an overdue ticket
something that happens: a `sla_overdue` event in the ticket's history and the audit chain
(actor `job:sla_overdue`), recorded once for each deadline (`sla_overdue_for`), so re-running
the job changes nothing, and a ticket whose SLA restarts (escalated, returned) is alerted again
only if it misses the new deadline too. The wall counts open tickets past their SLA; security
tickets are left out of that public count (their deadlines are on the breach pages).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import SupportTicket, TicketStatus
from core.ticket_history import event, queue

ACTOR = "job:sla_overdue"


def _overdue(now: datetime):  # type: ignore[no-untyped-def]
    return (SupportTicket.status == TicketStatus.OPEN.value) & (SupportTicket.sla_due_at <= now)


def escalate_overdue(session: Session, now: datetime) -> list[int]:
    """Record a `sla_overdue` event for each open ticket newly past its SLA; return their ids."""
    found = session.scalars(select(SupportTicket).where(_overdue(now)).order_by(
        SupportTicket.sla_due_at, SupportTicket.id).with_for_update(skip_locked=True))
    newly = []
    for ticket in found:
        if ticket.sla_overdue_for == ticket.sla_due_at:
            continue  # this deadline was alerted already
        ticket.sla_overdue_for = ticket.sla_due_at
        where = queue(ticket)
        event(session, ticket, actor=ACTOR, action="sla_overdue", before=where, after=where,
              reason=f"SLA due {ticket.sla_due_at.isoformat(timespec='minutes')} passed with the "
                     "ticket still open", now=now,
              data={"sla_due_at": ticket.sla_due_at.isoformat(), "owner": ticket.owner})
        newly.append(ticket.id)
    session.flush()
    return newly


def overdue_count(session: Session, now: datetime) -> int:
    """Return how many open tickets are past their SLA now (security tickets not counted)."""
    return int(session.scalar(select(func.count()).select_from(SupportTicket).where(
        _overdue(now), SupportTicket.security.is_(False))) or 0)
